// The Deployments section: every deployment of the sysroot, and fetched updates not yet staged (pending),
// each with its bound images and the button that pulls the missing ones.
import { memo } from 'react';
import type { ReadState } from '../daemon-store.js';
import { _ } from '../gettext.js';
import { type BoundImage, type Deployment, isSyncing } from '../model.js';
import { DeploymentRow } from './deployment-row.js';
import { ListOrEmpty } from './list-or-empty.js';
import { SectionCard } from './section-card.js';
import { type Column, SectionTable } from './section-table.js';

const COLUMNS: Column[] = [
  { title: _('Deployment'), width: 15 },
  { title: _('Role'), width: 10 },
  { title: _('Host image'), width: 25 },
  { title: _('Bound images') },
  { title: _('Actions'), action: true },
];

/**
 * The deployments with their bound images; `syncingKey` (model's syncingKey) names the deployments a sync is
 * pulling for, so that the section re-renders when that changes, not on every progress step of a job.
 */
export const DeploymentsCard = memo(function DeploymentsCard(props: {
  read: ReadState;
  deployments: Deployment[];
  bound: BoundImage[];
  syncingKey: string;
}) {
  const { read, deployments, bound, syncingKey } = props;
  return (
    <SectionCard
      id="deployments"
      title={_('Deployments')}
      description={_('Each deployment and the images it binds (usr/lib/bootc/bound-images.d).')}
    >
      <ListOrEmpty
        read={read}
        empty={deployments.length === 0}
        title={_('No deployments')}
        why={_('The sysroot has no ostree deployments.')}
      >
        <SectionTable label={_('Deployments')} columns={COLUMNS}>
          {deployments.map((d) => (
            <DeploymentRow
              key={d.deployment}
              deployment={d}
              bound={bound.filter((b) => b.deployment === d.deployment)}
              syncing={isSyncing(syncingKey, d.deployment)}
            />
          ))}
        </SectionTable>
      </ListOrEmpty>
    </SectionCard>
  );
});
