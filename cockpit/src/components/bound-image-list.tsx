// A deployment's bound images: each reference with whether the store has it (the bound-images.d link that
// binds it is its title).
import { _ } from '../gettext.js';
import type { BoundImage } from '../model.js';
import { Verdict } from './labels.js';
import { Muted } from './text-bits.js';

/** The bound images of one deployment, present or missing. */
export function BoundImageList({ bound }: { bound: BoundImage[] }) {
  if (bound.length === 0) return <Muted>{_('none')}</Muted>;
  return (
    <ul className="bsp-bound">
      {bound.map((b) => (
        <li key={b.file} data-image={b.image} data-present={String(b.present)} title={b.file}>
          <span className="bsp-ref">{b.image}</span>{' '}
          {b.present ? (
            <Verdict text={_('Present')} color="green" className="bsp-presence" />
          ) : (
            <Verdict text={_('Missing')} color="red" className="bsp-presence" />
          )}
        </li>
      ))}
    </ul>
  );
}
