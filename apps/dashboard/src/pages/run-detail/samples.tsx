import { useMemo, useState } from 'react';

import type { FineTuningEventObject } from '@tracetune/contracts';

import { Empty } from '../../components/states';
import { groupSamples, samplesByStep, type LoggedSample } from '../../lib/credit';
import { formatNumber } from '../../lib/format';
import { histogram } from '../../lib/metric-groups';
import { CreditView } from './credit-view';

/** Equal-width bins as horizontal bars, with the counts in text. */
function Histogram({ title, values, unit }: { title: string; values: number[]; unit: string }) {
  const { edges, counts } = histogram(values, 8);
  const most = Math.max(1, ...counts);
  return (
    <figure className="histogram" data-histogram={title} data-count={values.length}>
      <figcaption>{title}</figcaption>
      <ol>
        {counts.map((count, i) => (
          <li key={i}>
            <span className="histogram-range">
              {formatNumber(edges[i])}–{formatNumber(edges[i + 1])}
              {unit}
            </span>
            <span className="histogram-bar" style={{ width: `${(100 * count) / most}%` }} />
            <span className="histogram-count">{count}</span>
          </li>
        ))}
      </ol>
    </figure>
  );
}

const lengthOf = (s: LoggedSample) =>
  s.completion_tokens ?? s.tokens?.text.length ?? (s.completion ?? '').length;

/** One completion of a group: reward, advantage (and the clamp), length, text; its credit view when logged. */
function SampleRow({
  sample,
  index,
  trainedWith,
}: {
  sample: LoggedSample;
  index: number;
  trainedWith: string | null;
}) {
  const [open, setOpen] = useState(false);
  return (
    <li data-reward={sample.reward}>
      <div className="sample-head">
        <span className="muted">#{index + 1}</span>
        <span className={`reward ${(sample.reward ?? 0) > 0 ? 'reward-good' : 'reward-bad'}`}>
          reward {formatNumber(sample.reward)}
        </span>
        {sample.advantage !== undefined && (
          <span className="advantage">
            advantage {formatNumber(sample.advantage)}
            {sample.clamped && (
              <span className="badge"> clamped from {formatNumber(sample.advantage_raw)}</span>
            )}
          </span>
        )}
        <span className="muted">
          {lengthOf(sample)} tokens{sample.finish_reason === 'length' ? ' (cut at the limit)' : ''}
        </span>
        {sample.tokens && (
          <button type="button" className="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide credit' : 'Token credit'}
          </button>
        )}
      </div>
      <p className="pre-wrap">{sample.completion ?? JSON.stringify(sample)}</p>
      {open && sample.tokens && <CreditView sample={sample} trainedWith={trainedWith} />}
    </li>
  );
}

/** Inclusive reward bounds from two optional text inputs. */
function inRange(reward: number | undefined, min: string, max: string): boolean {
  const r = reward ?? 0;
  return (min === '' || r >= Number(min)) && (max === '' || r <= Number(max));
}

/**
 * Sample completions per step, as the worker logs them (events whose data carries `samples`): each prompt's whole
 * group of G completions with rewards and advantages, filterable by reward, with the step's reward and length
 * histograms, and the token-level credit view for the completions logged with per-token numbers.
 */
export function Samples({
  events,
  estimator,
}: {
  events: FineTuningEventObject[];
  estimator: string | null;
}) {
  const byStep = useMemo(() => samplesByStep(events), [events]);
  const [chosen, setChosen] = useState<number | null>(null);
  const [min, setMin] = useState('');
  const [max, setMax] = useState('');
  if (byStep.length === 0) return <Empty>No sample completions logged yet.</Empty>;
  const [step, samples] = byStep.find(([s]) => s === chosen) ?? byStep[0];
  const groups = groupSamples(samples)
    .map((g) => ({ ...g, shown: g.samples.filter((s) => inRange(s.reward, min, max)) }))
    .filter((g) => g.shown.length > 0);
  return (
    <>
      <div className="toolbar">
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
        <label>
          Reward from <input type="number" step="any" value={min} onChange={(e) => setMin(e.target.value)} />
        </label>
        <label>
          to <input type="number" step="any" value={max} onChange={(e) => setMax(e.target.value)} />
        </label>
      </div>
      <div className="histograms">
        <Histogram title={`Rewards at step ${step}`} values={samples.map((s) => s.reward ?? 0)} unit="" />
        <Histogram title={`Completion lengths at step ${step}`} values={samples.map(lengthOf)} unit="" />
      </div>
      {groups.length === 0 && <Empty>No sample at this step has a reward in that range.</Empty>}
      {groups.map((g) => (
        <article key={g.group} className="sample-group" data-group={g.group}>
          <h3>
            {g.group >= 0 ? `Prompt ${g.group + 1}` : 'Sample'}{' '}
            <span className="muted">
              ({g.shown.length} of {g.samples.length} completions)
            </span>
          </h3>
          {g.prompt !== undefined && <p className="pre-wrap prompt">{g.prompt}</p>}
          <ol className="samples">
            {g.shown.map((sample) => (
              <SampleRow
                key={g.samples.indexOf(sample)}
                sample={sample}
                index={g.samples.indexOf(sample)}
                trainedWith={estimator}
              />
            ))}
          </ol>
        </article>
      ))}
    </>
  );
}
