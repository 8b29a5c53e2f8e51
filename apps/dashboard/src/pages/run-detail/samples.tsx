import { useMemo, useState } from 'react';

import type { FineTuningEventObject } from '@tracetune/contracts';

import { Empty } from '../../components/states';
import { formatNumber } from '../../lib/format';

interface Sample {
  prompt?: string;
  completion?: string;
  reward?: number;
}

/** Sample completions with their rewards, per step: the worker logs them as events whose data carries `samples`. */
export function Samples({ events }: { events: FineTuningEventObject[] }) {
  const byStep = useMemo(() => {
    const steps = new Map<number, Sample[]>();
    for (const event of events) {
      const data = event.data as { step?: number; samples?: Sample[] } | null;
      if (data && Array.isArray(data.samples) && typeof data.step === 'number' && !steps.has(data.step))
        steps.set(data.step, data.samples);
    }
    return [...steps.entries()].sort((a, b) => b[0] - a[0]);
  }, [events]);
  const [chosen, setChosen] = useState<number | null>(null);
  if (byStep.length === 0) return <Empty>No sample completions logged yet.</Empty>;
  const [step, samples] = byStep.find(([s]) => s === chosen) ?? byStep[0];
  return (
    <>
      <label>
        Step{' '}
        <select value={step} onChange={(event) => setChosen(Number(event.target.value))}>
          {byStep.map(([s, list]) => (
            <option key={s} value={s}>
              {s} ({list.length} samples)
            </option>
          ))}
        </select>
      </label>
      <ol className="samples">
        {samples.map((sample, index) => (
          <li key={index}>
            <div className="sample-head">
              <span className="muted">#{index + 1}</span>
              <span className={`reward ${(sample.reward ?? 0) > 0 ? 'reward-good' : 'reward-bad'}`}>
                reward {formatNumber(sample.reward)}
              </span>
            </div>
            {sample.prompt !== undefined && (
              <p>
                <strong>Prompt</strong> <span className="pre-wrap">{sample.prompt}</span>
              </p>
            )}
            <p>
              <strong>Completion</strong>{' '}
              <span className="pre-wrap">{sample.completion ?? JSON.stringify(sample)}</span>
            </p>
          </li>
        ))}
      </ol>
    </>
  );
}
