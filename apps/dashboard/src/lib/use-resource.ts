import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: Error | null;
  /** True until the first answer (success or failure); later refreshes keep showing the last data. */
  loading: boolean;
  reload(): void;
}

/**
 * Loads data, optionally re-polling every `intervalMs` (the list pages refresh every few seconds). Requests of a
 * previous dependency set are aborted, and a poll never overlaps the one before it.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: DependencyList,
  intervalMs?: number,
): Resource<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
      } catch (caught) {
        if (controller.signal.aborted) return;
        setError(caught instanceof Error ? caught : new Error(String(caught)));
      } finally {
        if (!controller.signal.aborted) {
          setLoading(false);
          if (intervalMs) timer = setTimeout(() => void run(), intervalMs);
        }
      }
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
    // The caller's deps decide when to reload; `load` itself is read through a ref so a new closure does not refetch.
  }, [...deps, nonce, intervalMs]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}
