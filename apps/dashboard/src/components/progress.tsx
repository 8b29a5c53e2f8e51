import type { FineTuningJobObject } from '@tracetune/contracts';

import { formatRelative, isActive } from '../lib/format';

/** Step / total with a bar, and the ETA from `estimated_finish` while the job is live. */
export function JobProgress({ job }: { job: FineTuningJobObject }) {
  const { step, total_steps: total } = job.progress;
  const fraction = total ? Math.min(step / total, 1) : 0;
  return (
    <div className="progress-cell">
      <progress
        max={total ?? 1}
        value={total ? Math.min(step, total) : 0}
        aria-label={`Step ${step} of ${total ?? 'unknown'}`}
      />
      <span>
        {step} / {total ?? '?'}
        {total ? ` (${Math.round(fraction * 100)}%)` : ''}
      </span>
      {/* An ETA in the past says nothing useful (a stalled or slow step): show it only while it is ahead. */}
      {isActive(job.status) && job.estimated_finish && job.estimated_finish * 1000 > Date.now() && (
        <span className="muted"> · ETA {formatRelative(job.estimated_finish)}</span>
      )}
    </div>
  );
}
