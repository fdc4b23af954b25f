// The Jobs section: the pull form, then every job object of the daemon, whoever started it (followed through
// the ObjectManager and PropertiesChanged; nothing is polled), newest first.
import { _ } from '../gettext.js';
import type { Job } from '../model.js';
import { JobRow } from './job-row.js';
import { PullForm } from './pull-form.js';
import { SectionCard } from './section-card.js';
import { type Column, SectionTable } from './section-table.js';

const COLUMNS: Column[] = [
  { title: _('Job'), width: 30 },
  { title: _('State'), width: 15 },
  { title: _('Progress') },
  { title: _('Actions'), action: true },
];

/** The pull form and the job list. */
export function JobsCard({ jobs }: { jobs: Job[] }) {
  return (
    <SectionCard id="jobs" title={_('Jobs')}>
      <PullForm />
      {jobs.length === 0 ? (
        <p id="jobs-empty" className="bsp-muted">
          {_('No jobs. Pulls, removals and garbage collections show here while they run.')}
        </p>
      ) : (
        <SectionTable label={_('Jobs')} columns={COLUMNS}>
          {jobs.map((job) => (
            <JobRow key={job.path} job={job} />
          ))}
        </SectionTable>
      )}
    </SectionCard>
  );
}
