import type { FineTuningJobObject } from '@tracetune/contracts';

export function formatTime(unixSeconds: number | null | undefined): string {
  if (!unixSeconds) return '—';
  return new Date(unixSeconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "in 4 min", "2 h ago": for ETAs and recency. */
export function formatRelative(unixSeconds: number | null | undefined, now = Date.now()): string {
  if (!unixSeconds) return '—';
  const seconds = Math.round(unixSeconds - now / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [Math.round(abs / 60), 'min']
        : abs < 86_400
          ? [Math.round(abs / 3600), 'h']
          : [Math.round(abs / 86_400), 'd'];
  return seconds >= 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

/** Metric values span 1e-6 (learning rates) to 1e5 (tokens/s): keep about four significant digits. */
export function formatNumber(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value))
    return value === null || value === undefined ? '—' : String(value);
  if (Number.isInteger(value)) return value.toLocaleString();
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(2);
  return value.toPrecision(4).replace(/\.?0+$/, '');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

interface ReinforcementMethod {
  type: string;
  reinforcement?: { algorithm?: { name?: string } };
}

/** "RL · GRPO-λ", "SFT": what the runs table shows in its method column. */
export function methodLabel(job: FineTuningJobObject): { method: string; algorithm: string } {
  const method = job.method as unknown as ReinforcementMethod;
  if (method.type === 'reinforcement') {
    const name = method.reinforcement?.algorithm?.name ?? 'grpo_lambda';
    return { method: 'reinforcement', algorithm: name === 'grpo_lambda' ? 'GRPO-λ' : name.toUpperCase() };
  }
  return { method: method.type, algorithm: '—' };
}

export const ACTIVE_STATUSES = ['validating_files', 'queued', 'running', 'pausing', 'paused'] as const;
export const isActive = (status: string) => (ACTIVE_STATUSES as readonly string[]).includes(status);
