// One job of the daemon (any client's): what it does, its state, its bar, and Cancel while it can be
// canceled. React keeps the row in place as its properties change, up to ten times a second.
import { Td, Tr } from '@patternfly/react-table';
import { _ } from '../gettext.js';
import { useAction } from '../hooks/use-action.js';
import { usePageActions } from '../hooks/use-page-actions.js';
import { cancelable, type Job, jobTitle } from '../model.js';
import { BusyButton } from './busy-button.js';
import { JobProgress } from './job-progress.js';
import { StateLabel } from './labels.js';

/** A job's row; Cancel stays busy from the daemon's answer until the job's state changes. */
export function JobRow({ job }: { job: Job }) {
  const { storage } = usePageActions();
  const cancel = useAction(() => storage.cancel(job.id), { until: job.state });
  return (
    <Tr id={`job-${job.id}`} data-job={job.id} data-path={job.path} data-state={job.state}>
      <Td dataLabel={_('Job')} className="bsp-break">
        <div className="bsp-job-title">{jobTitle(job)}</div>
        <div className="bsp-muted bsp-job-id">#{job.id}</div>
      </Td>
      <Td dataLabel={_('State')}>
        <StateLabel state={job.state} />
      </Td>
      <Td dataLabel={_('Progress')} className="bsp-job-progress">
        <JobProgress job={job} />
      </Td>
      <Td isActionCell>
        {cancelable(job) && (
          <BusyButton
            variant="secondary"
            busy={cancel.busy}
            data-action="cancel"
            aria-label={`${_('Cancel')} ${jobTitle(job)} #${job.id}`}
            onClick={() => void cancel.run()}
          >
            {_('Cancel')}
          </BusyButton>
        )}
      </Td>
    </Tr>
  );
}
