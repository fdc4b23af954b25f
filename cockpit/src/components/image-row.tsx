// One image of the store: its names, ID, size, age and who needs it, and Remove (StartRemove with its ID),
// asked for first; the button stays busy while the removal job runs.
import { Td, Tr } from '@patternfly/react-table';
import { _ } from '../gettext.js';
import { useAction } from '../hooks/use-action.js';
import { useConfirm } from '../hooks/use-confirm.js';
import { usePageActions } from '../hooks/use-page-actions.js';
import { formatAge, formatBytes, type ImageInfo, shortId, type Usage } from '../model.js';
import { BusyButton } from './busy-button.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { ImageUsage } from './image-usage.js';
import { ImageNames, Muted } from './text-bits.js';

/** An image's row; `bound`: a deployment binds it (the dialog says "Pull missing" brings it back). */
export function ImageRow(props: { image: ImageInfo; uses: Usage[]; bound: boolean; now: number }) {
  const { image, uses, bound, now } = props;
  const { storage } = usePageActions();
  const { ask, question, answer } = useConfirm();
  const remove = useAction(() => storage.startRemove([image.id]));
  const what = image.names[0] ?? shortId(image.id);
  const onRemove = async () => {
    const ok = await ask({
      title: _('Remove image?'),
      body: [
        `${what} (${shortId(image.id)}, ${formatBytes(image.size)}) ${_('is removed from the store.')}`,
        ...(bound ? [_('A deployment binds it: "Pull missing" pulls it again.')] : []),
      ],
      confirm: _('Remove'),
    });
    if (ok) await remove.run();
  };
  return (
    <Tr data-id={image.id}>
      <Td dataLabel={_('Image')} className="bsp-break">
        <ImageNames names={image.names} fallback={<Muted>{_('<none>')}</Muted>} />
      </Td>
      <Td dataLabel={_('ID')}>
        <span className="bsp-mono" title={image.id}>
          {shortId(image.id)}
        </span>
      </Td>
      <Td dataLabel={_('Size')} className="bsp-nowrap">
        {formatBytes(image.size)}
      </Td>
      <Td dataLabel={_('Created')} className="bsp-nowrap">
        <span title={image.created ? new Date(image.created * 1000).toLocaleString() : ''}>
          {formatAge(image.created, now)}
        </span>
      </Td>
      <Td dataLabel={_('Used by')}>
        <ImageUsage uses={uses} />
      </Td>
      <Td isActionCell>
        <BusyButton
          variant="secondary"
          isDanger
          busy={remove.busy}
          data-action="remove"
          aria-label={`${_('Remove')} ${what}`}
          onClick={() => void onRemove()}
        >
          {_('Remove')}
        </BusyButton>
        <ConfirmDialog id="remove-dialog" question={question} onAnswer={answer} />
      </Td>
    </Tr>
  );
}
