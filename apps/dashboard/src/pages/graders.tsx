import { useState, type FormEvent } from 'react';

import { Page } from '../components/page';
import { ApiError, type GraderRunResult } from '../lib/api';
import { formatNumber } from '../lib/format';
import { useSession } from '../lib/session-context';

const EXAMPLE_GRADER = JSON.stringify(
  { type: 'math_answer', name: 'math', input: '{{sample.output_text}}', reference: '{{item.answer}}' },
  null,
  2,
);
const EXAMPLE_ITEM = JSON.stringify({ answer: '42' }, null, 2);

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Dry-runs a grader on one sample and item, as a job would grade a completion. */
export function GradersPage() {
  const { client } = useSession();
  const [grader, setGrader] = useState(EXAMPLE_GRADER);
  const [sample, setSample] = useState('The answer is #### 42');
  const [item, setItem] = useState(EXAMPLE_ITEM);
  const [result, setResult] = useState<GraderRunResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(
        await client.runGrader(
          parseJson(grader, 'The grader'),
          sample,
          item.trim() ? parseJson(item, 'The item') : undefined,
        ),
      );
    } catch (caught) {
      const param = caught instanceof ApiError && caught.param ? ` (${caught.param})` : '';
      setError(`${(caught as Error).message}${param}`);
    } finally {
      setBusy(false);
    }
  };

  const flags = result ? Object.entries(result.metadata.errors).filter(([, value]) => value === true) : [];
  const details = result
    ? Object.entries(result.metadata.errors).filter(
        ([key, value]) => typeof value === 'string' && key.endsWith('details'),
      )
    : [];
  return (
    <Page title="Graders">
      <div className="two-columns">
        <form onSubmit={(event) => void run(event)} className="stack" aria-label="Dry-run a grader">
          <label htmlFor="grader-json">Grader (JSON)</label>
          <textarea
            id="grader-json"
            rows={10}
            className="mono"
            spellCheck={false}
            value={grader}
            onChange={(event) => setGrader(event.target.value)}
          />
          <label htmlFor="grader-sample">Model sample ({'{{sample.output_text}}'})</label>
          <textarea
            id="grader-sample"
            rows={4}
            value={sample}
            onChange={(event) => setSample(event.target.value)}
          />
          <label htmlFor="grader-item">Item (JSON, {'{{item.*}}'})</label>
          <textarea
            id="grader-item"
            rows={4}
            className="mono"
            spellCheck={false}
            value={item}
            onChange={(event) => setItem(event.target.value)}
          />
          <div>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Grading…' : 'Run grader'}
            </button>
          </div>
        </form>
        <section aria-labelledby="grader-result-title" aria-live="polite" className="panel">
          <h2 id="grader-result-title">Result</h2>
          {error && (
            <p role="alert" className="inline-error">
              {error}
            </p>
          )}
          {!error && !result && <p className="muted">Run the grader to see its reward.</p>}
          {result && (
            <>
              <p className="big-number">
                reward <output data-testid="grader-reward">{formatNumber(result.reward)}</output>
              </p>
              <dl className="summary">
                <div>
                  <dt>Grader</dt>
                  <dd>
                    {result.metadata.name} <span className="muted">({result.metadata.type})</span>
                  </dd>
                </div>
                <div>
                  <dt>Time</dt>
                  <dd>{formatNumber(result.metadata.execution_time * 1000)} ms</dd>
                </div>
                {result.metadata.token_usage !== null && (
                  <div>
                    <dt>Judge tokens</dt>
                    <dd>{formatNumber(result.metadata.token_usage)}</dd>
                  </div>
                )}
              </dl>
              <h3>Sub-rewards</h3>
              {Object.keys(result.sub_rewards).length === 0 ? (
                <p className="muted">None (a single grader).</p>
              ) : (
                <dl className="key-values">
                  {Object.entries(result.sub_rewards).map(([name, value]) => (
                    <div key={name}>
                      <dt>{name}</dt>
                      <dd className="mono">{formatNumber(value)}</dd>
                    </div>
                  ))}
                </dl>
              )}
              <h3>Error flags</h3>
              {flags.length === 0 ? (
                <p className="muted">No errors flagged.</p>
              ) : (
                <ul className="errors">
                  {flags.map(([name]) => (
                    <li key={name} className="mono">
                      {name}
                    </li>
                  ))}
                  {details.map(([name, value]) => (
                    <li key={name}>
                      <span className="mono">{name}</span>: {String(value)}
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </section>
      </div>
    </Page>
  );
}
