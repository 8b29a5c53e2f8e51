/** The body of every app's /health: one entry per dependency it needs. */
export interface DependencyHealth {
  status: 'ok' | 'error';
  latency_ms: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  app: string;
  checks: Record<string, DependencyHealth>;
  /** App-specific facts (the worker's backend, the inference server's loaded models, …). */
  details?: Record<string, unknown>;
}

/** Runs one dependency check with a deadline and measures it; never throws. */
export async function timedCheck(
  check: () => Promise<unknown>,
  timeoutMs = 2_000,
): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      status: 'error',
      latency_ms: Math.round(performance.now() - started),
      error: (error as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function healthReport(
  app: string,
  checks: Record<string, () => Promise<unknown>>,
  details?: Record<string, unknown>,
): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => timedCheck(checks[name])));
  const entries = Object.fromEntries(names.map((name, i) => [name, results[i]]));
  return {
    status: results.every((r) => r.status === 'ok') ? 'ok' : 'degraded',
    app,
    checks: entries,
    ...(details ? { details } : {}),
  };
}
