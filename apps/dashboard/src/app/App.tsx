import { useEffect, useState } from 'react';

interface Health {
  status: string;
  checks: Record<string, { status: string; latency_ms: number }>;
}

/** The dashboard shell: shows the service's health until the run pages land. */
export function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetch('/health')
      .then((response) => response.json() as Promise<Health>)
      .then(setHealth)
      .catch((e: unknown) => setError(String(e)));
  }, []);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '2rem auto', padding: '0 1rem' }}>
      <h1>Tracetune</h1>
      <p>GRPO-λ fine-tuning behind an OpenAI-compatible API.</p>
      <section aria-live="polite">
        <h2>Service health</h2>
        {error && <p role="alert">Could not reach the api: {error}</p>}
        {!health && !error && <p>Checking…</p>}
        {health && (
          <ul>
            {Object.entries(health.checks).map(([name, check]) => (
              <li key={name}>
                {name}: {check.status} ({check.latency_ms} ms)
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
