// A GC preview reason, one line per deployment that needs the image, with the deployments' checksums
// shortened (the whole name as their title).
import type { ReactNode } from 'react';
import { splitReasons } from '../model.js';
import { DeploymentName } from './text-bits.js';

const DEPLOYMENT = /[0-9a-f]{64}\.\d+/g;

/** One reason line: its text with every deployment name shortened. */
function ReasonLine({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  let at = 0;
  for (const m of text.matchAll(DEPLOYMENT)) {
    parts.push(text.slice(at, m.index), <DeploymentName key={m.index} name={m[0]} />);
    at = m.index + m[0].length;
  }
  parts.push(text.slice(at));
  return parts;
}

/** Why the preview keeps or removes an image. */
export function GcReason({ reason }: { reason: string }) {
  return (
    <ul className="bsp-usage">
      {splitReasons(reason).map((r) => (
        <li key={r}>
          <ReasonLine text={r} />
        </li>
      ))}
    </ul>
  );
}
