// A job's progress bar: the fraction done (a moving bar while it is unknown), coloured by how the job ended,
// with the bytes, layers, images and attempts (or how it ended) under it.
import { HelperText, HelperTextItem, Progress } from '@patternfly/react-core';
import { _ } from '../gettext.js';
import { barPercent, type Job, jobHelper, jobStatus } from '../model.js';

/**
 * PatternFly's Progress leaves aria-valuenow out (the ARIA way to say "unknown") only for a null value, which
 * its type does not admit.
 */
const UNKNOWN = null as unknown as number;

/** The small bar of one job. */
export function JobProgress({ job }: { job: Job }) {
  const percent = barPercent(job);
  const status = jobStatus(job);
  const helper = jobHelper(job, _);
  const unknown = percent === undefined;
  return (
    <Progress
      id={`job-${job.id}-progress`}
      className={unknown ? 'bsp-indeterminate' : undefined}
      size="sm"
      aria-label={`${_('Progress of job')} ${job.id}`}
      value={percent ?? UNKNOWN}
      valueText={unknown ? _('In progress') : undefined}
      measureLocation={unknown ? 'none' : 'outside'}
      variant={status === 'running' ? undefined : status}
      helperText={
        helper ? (
          <HelperText>
            <HelperTextItem>{helper}</HelperTextItem>
          </HelperText>
        ) : undefined
      }
    />
  );
}
