/** A one-line progress bar on stderr: steps, reward/loss, ETA. Redrawn in place on a TTY, one line per update otherwise. */
export class ProgressBar {
  private readonly start = Date.now();
  private lastLine = '';

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly width = 24,
  ) {}

  update(step: number, total: number, metrics: Record<string, number>, firstStep: number): void {
    const done = Math.min(1, step / Math.max(1, total));
    const filled = Math.round(done * this.width);
    const elapsed = (Date.now() - this.start) / 1000;
    const perStep = elapsed / Math.max(1, step - firstStep);
    const eta = perStep * (total - step);
    const shown: string[] = [];
    const pick = (key: string, label: string): void => {
      if (metrics[key] !== undefined) shown.push(`${label} ${metrics[key].toFixed(3)}`);
    };
    pick('reward', 'reward');
    pick('accuracy', 'acc');
    pick('loss', 'loss');
    pick('eval_accuracy', 'eval_acc');
    pick('eval_loss', 'eval_loss');
    const line = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${step}/${total} ${shown.join(' ')} ETA ${formatDuration(eta)}`;
    if (this.out.isTTY)
      this.out.write(`\r${line}${' '.repeat(Math.max(0, this.lastLine.length - line.length))}`);
    else this.out.write(`${line}\n`);
    this.lastLine = line;
  }

  done(): void {
    if (this.out.isTTY && this.lastLine) this.out.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}
