// The page: the daemon's state (hooks/use-daemon.ts) laid out as PatternFly's Page with one card per section
// (deployments with pending updates, jobs with the pull form, images, garbage collection), and the toasts of
// failed actions. Every section acts through the context's StorageClient.
import { Page, PageSection, Stack } from '@patternfly/react-core';
import { useMemo } from 'react';
import type { DaemonStore } from '../daemon-store.js';
import { useAlerts } from '../hooks/use-alerts.js';
import { useDaemon } from '../hooks/use-daemon.js';
import { type PageActions, PageActionsContext } from '../hooks/use-page-actions.js';
import { syncingKey } from '../model.js';
import { DeploymentsCard } from './deployments-card.js';
import { ErrorToasts } from './error-toasts.js';
import { GcCard } from './gc-card.js';
import { ImagesCard } from './images-card.js';
import { JobsCard } from './jobs-card.js';
import { LoadError } from './load-error.js';
import { PageHeader } from './page-header.js';

/** The whole page on `store`. */
export function App({ store }: { store: DaemonStore }) {
  const { alerts, report, close } = useAlerts();
  const daemon = useDaemon(store, report);
  const { jobs, generation } = daemon;
  const actions = useMemo<PageActions>(
    () => ({ storage: store.storage, report, jobs, generation }),
    [store, report, jobs, generation],
  );
  const { loaded, loadError } = daemon;
  const read = useMemo(() => ({ loaded, loadError }), [loaded, loadError]);
  return (
    <PageActionsContext value={actions}>
      <Page className="bsp-page">
        <PageHeader info={daemon.info} />
        <PageSection variant="secondary" className="bsp-cards">
          <Stack hasGutter>
            {loadError && <LoadError message={loadError} onRetry={() => void store.refresh()} />}
            <DeploymentsCard
              read={read}
              deployments={daemon.deployments}
              bound={daemon.bound}
              syncingKey={syncingKey(daemon.jobs)}
            />
            <JobsCard jobs={daemon.jobs} />
            <ImagesCard read={read} images={daemon.images} bound={daemon.bound} preview={daemon.preview} />
            <GcCard preview={daemon.preview} images={daemon.images} />
          </Stack>
        </PageSection>
      </Page>
      <ErrorToasts alerts={alerts} onClose={close} />
    </PageActionsContext>
  );
}
