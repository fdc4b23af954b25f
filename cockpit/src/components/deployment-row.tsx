// One deployment: its name, role, host image and bound images, and the button that pulls what is missing. For
// a fetched update not yet staged (role pending) that button is "Prepare update": pulling its bound images
// now means bootc finds them present when it stages the update.
import { Td, Tr } from '@patternfly/react-table';
import { _ } from '../gettext.js';
import { useAction } from '../hooks/use-action.js';
import { usePageActions } from '../hooks/use-page-actions.js';
import { type BoundImage, type Deployment, shortDeployment } from '../model.js';
import { BoundImageList } from './bound-image-list.js';
import { BusyButton } from './busy-button.js';
import { RoleLabel } from './labels.js';
import { DeploymentName, Muted } from './text-bits.js';

/** A deployment's row; `syncing`: a sync job is pulling its bound images now. */
export function DeploymentRow(props: { deployment: Deployment; bound: BoundImage[]; syncing: boolean }) {
  const { deployment: d, bound, syncing } = props;
  const { storage } = usePageActions();
  // Busy during the call, then while its sync job runs (the daemon joins a second identical request); `syncing`
  // also covers a sync another client started.
  const pull = useAction(() => storage.startSyncBoundImages(d.deployment));
  const pending = d.role === 'pending';
  const offer = syncing || bound.some((b) => !b.present);
  return (
    <Tr data-deployment={d.deployment} data-role={d.role}>
      <Td dataLabel={_('Deployment')}>
        <DeploymentName name={d.deployment} />
      </Td>
      <Td dataLabel={_('Role')}>
        <RoleLabel role={d.role} />
      </Td>
      <Td dataLabel={_('Host image')} className="bsp-break">
        {d.hostImage || <Muted>{_('none')}</Muted>}
      </Td>
      <Td dataLabel={_('Bound images')} className="bsp-break">
        <BoundImageList bound={bound} />
      </Td>
      <Td isActionCell>
        {offer && (
          <BusyButton
            variant={pending ? 'primary' : 'secondary'}
            busy={syncing || pull.busy}
            data-action={pending ? 'prepare-update' : 'pull-missing'}
            aria-label={`${pending ? _('Prepare update') : _('Pull missing')} ${shortDeployment(d.deployment)}`}
            onClick={() => void pull.run()}
          >
            {pending ? _('Prepare update') : _('Pull missing')}
          </BusyButton>
        )}
      </Td>
    </Tr>
  );
}
