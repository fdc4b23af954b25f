// The Garbage collection section: Preview (what goes and why the rest stays), then Run, confirmed first
// (StartGarbageCollect, not a dry run).
import { memo } from 'react';
import { _ } from '../gettext.js';
import { useConfirm } from '../hooks/use-confirm.js';
import { useGcPreview } from '../hooks/use-gc-preview.js';
import type { ImageInfo, PreviewEntry } from '../model.js';
import { BusyButton } from './busy-button.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { GcPreviewTable } from './gc-preview-table.js';
import { SectionCard } from './section-card.js';

/** The GC section; `preview` is the store's latest PreviewGarbageCollect, `images` its images. */
export const GcCard = memo(function GcCard({
  preview,
  images,
}: {
  preview: PreviewEntry[];
  images: ImageInfo[];
}) {
  const { ask, question, answer } = useConfirm();
  const gc = useGcPreview(preview, ask);
  const actions = (
    <>
      <BusyButton
        id="gc-preview"
        variant="secondary"
        busy={gc.preview.busy}
        onClick={() => void gc.preview.run()}
      >
        {_('Preview')}
      </BusyButton>
      <BusyButton id="gc-run" variant="danger" busy={gc.running} onClick={() => void gc.run()}>
        {_('Run garbage collection')}
      </BusyButton>
    </>
  );
  return (
    <SectionCard
      id="gc"
      title={_('Garbage collection')}
      description={_(
        'Removes every image that no deployment binds or boots from, as bootc does after an update.',
      )}
      actions={actions}
    >
      {gc.shown ? (
        <GcPreviewTable preview={gc.shown} images={images} />
      ) : (
        <p className="bsp-muted">
          {_('Preview lists what a garbage collection removes, and why every other image stays.')}
        </p>
      )}
      <ConfirmDialog id="gc-dialog" question={question} onAnswer={answer} />
    </SectionCard>
  );
});
