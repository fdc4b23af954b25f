// What a garbage collection would do, as PreviewGarbageCollect answered: a summary line, then each image with
// its outcome (keep or remove) and the reason, what goes first.
import { Td, Tr } from '@patternfly/react-table';
import { _ } from '../gettext.js';
import { gcSummary, type ImageInfo, type PreviewEntry, previewOrder, shortId } from '../model.js';
import { GcReason } from './gc-reason.js';
import { Verdict } from './labels.js';
import { type Column, SectionTable } from './section-table.js';
import { ImageNames } from './text-bits.js';

const COLUMNS: Column[] = [
  { title: _('Image'), width: 40 },
  { title: _('Outcome'), width: 15 },
  { title: _('Reason') },
];

/** The preview's summary and table; the images' names and sizes come from the store's list. */
export function GcPreviewTable({ preview, images }: { preview: PreviewEntry[]; images: ImageInfo[] }) {
  const byId = new Map(images.map((i) => [i.id, i]));
  return (
    <>
      <p className="bsp-summary" id="gc-summary">
        {gcSummary(preview, images, _)}
      </p>
      <SectionTable label={_('Garbage collection preview')} columns={COLUMNS}>
        {previewOrder(preview).map((p) => (
          <Tr key={p.id} data-id={p.id} data-kept={String(p.kept)}>
            <Td dataLabel={_('Image')} className="bsp-break">
              <ImageNames
                names={byId.get(p.id)?.names ?? []}
                fallback={<span className="bsp-mono">{shortId(p.id)}</span>}
              />
            </Td>
            <Td dataLabel={_('Outcome')}>
              {p.kept ? (
                <Verdict text={_('Keep')} color="green" />
              ) : (
                <Verdict text={_('Remove')} color="red" />
              )}
            </Td>
            <Td dataLabel={_('Reason')} className="bsp-break">
              <GcReason reason={p.reason} />
            </Td>
          </Tr>
        ))}
      </SectionTable>
    </>
  );
}
