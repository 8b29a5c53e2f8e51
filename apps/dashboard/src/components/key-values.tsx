import { formatNumber } from '../lib/format';

const show = (value: unknown) =>
  typeof value === 'number'
    ? formatNumber(value)
    : value === null || value === undefined
      ? '—'
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);

/** A definition list of settings (hyperparameters, algorithm, LoRA). */
export function KeyValues({
  values,
  label,
}: {
  values: Record<string, unknown> | null | undefined;
  label: string;
}) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return <p className="muted">No {label}.</p>;
  return (
    <dl className="key-values" aria-label={label}>
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd className="mono">{show(value)}</dd>
        </div>
      ))}
    </dl>
  );
}
