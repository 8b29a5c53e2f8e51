/**
 * The `fine-tune-results` file of a succeeded job: a CSV with one row per step. OpenAI's column names come first
 * (filled from the metric they mean; empty when the method has no such metric), then every other metric the job
 * reported under its own name, sorted.
 */
const OPENAI_COLUMNS: readonly [column: string, sources: readonly string[]][] = [
  ['step', []],
  ['train_loss', ['train_loss', 'loss']],
  ['train_accuracy', ['train_accuracy', 'accuracy']],
  ['valid_loss', ['eval_loss']],
  ['valid_mean_token_accuracy', ['eval_token_accuracy']],
  ['train_mean_reward', ['reward']],
  ['valid_mean_reward', ['eval_reward']],
];

export const RESULTS_FILENAME = 'step_metrics.csv';

function cell(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function resultsCsv(rows: readonly { step: number; metrics: Record<string, unknown> }[]): string {
  const mapped = new Set(OPENAI_COLUMNS.flatMap(([column, sources]) => [column, ...sources]));
  const ours = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].filter((k) => !mapped.has(k)).sort();
  const header = [...OPENAI_COLUMNS.map(([column]) => column), ...ours];
  const lines = rows.map((r) => {
    const openai = OPENAI_COLUMNS.map(([column, sources]) =>
      column === 'step'
        ? String(r.step)
        : cell(sources.map((s) => r.metrics[s]).find((v) => v !== undefined)),
    );
    return [...openai, ...ours.map((k) => cell(r.metrics[k]))].join(',');
  });
  return `${[header.join(','), ...lines].join('\n')}\n`;
}
