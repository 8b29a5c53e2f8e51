import { useCallback, useEffect, useRef, useState } from 'react';

import type {
  FineTuningCheckpointObject,
  FineTuningEventObject,
  FineTuningJobObject,
} from '@tracetune/contracts';

import { ApiError, type MetricRow, type TracetuneClient } from './api';
import { isActive } from './format';
import { mergeRows } from './metrics';

export type Connection = 'connecting' | 'live' | 'polling' | 'ended';

export interface JobLive {
  job: FineTuningJobObject | undefined;
  rows: MetricRow[];
  /** Newest first. */
  events: FineTuningEventObject[];
  hasOlderEvents: boolean;
  checkpoints: FineTuningCheckpointObject[] | undefined;
  connection: Connection;
  error: Error | null;
  setJob(job: FineTuningJobObject): void;
  loadOlderEvents(): Promise<void>;
}

const POLL_MS = 3_000;
/** Polls made while the stream is down before trying the stream again. */
const POLLS_BEFORE_RETRY = 3;

/** Adds events, newest first, without duplicates (the stream and the list overlap at their seam). */
function mergeEvents(
  existing: FineTuningEventObject[],
  incoming: FineTuningEventObject[],
): FineTuningEventObject[] {
  const seen = new Set(existing.map((e) => e.id));
  const fresh = incoming.filter((e) => !seen.has(e.id));
  if (fresh.length === 0) return existing;
  return [...fresh, ...existing].sort((a, b) => b.created_at - a.created_at);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * Everything the run page shows, kept live: the job's stream (server-sent events read with fetch) delivers new
 * metric rows, status changes and events; when the stream fails the hook polls the REST endpoints, and tries the
 * stream again every few polls. It stops once the job is terminal.
 */
export function useJobLive(client: TracetuneClient, id: string): JobLive {
  const [job, setJob] = useState<FineTuningJobObject>();
  const [rows, setRows] = useState<MetricRow[]>([]);
  const [events, setEvents] = useState<FineTuningEventObject[]>([]);
  const [hasOlderEvents, setHasOlderEvents] = useState(false);
  const [checkpoints, setCheckpoints] = useState<FineTuningCheckpointObject[]>();
  const [connection, setConnection] = useState<Connection>('connecting');
  const [error, setError] = useState<Error | null>(null);
  const lastStep = useRef(-1);
  const eventsRef = useRef<FineTuningEventObject[]>([]);

  const addRows = useCallback((incoming: MetricRow[]) => {
    if (incoming.length === 0) return;
    lastStep.current = Math.max(lastStep.current, incoming[incoming.length - 1].step);
    setRows((current) => mergeRows(current, incoming));
  }, []);
  const addEvents = useCallback((incoming: FineTuningEventObject[]) => {
    eventsRef.current = mergeEvents(eventsRef.current, incoming);
    setEvents(eventsRef.current);
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    lastStep.current = -1;
    eventsRef.current = [];
    setRows([]);
    setEvents([]);
    setJob(undefined);
    setCheckpoints(undefined);
    setError(null);
    setConnection('connecting');

    const refreshCheckpoints = () =>
      client
        .listCheckpoints(id)
        .then((list) => !signal.aborted && setCheckpoints(list.data))
        .catch(() => undefined);
    const refreshEvents = async () => {
      const list = await client.listEvents(id);
      if (signal.aborted) return;
      addEvents(list.data);
      if (eventsRef.current.length <= list.data.length) setHasOlderEvents(list.has_more);
    };
    const poll = async (): Promise<FineTuningJobObject> => {
      const [current, fresh] = await Promise.all([
        client.getJob(id),
        client.listMetrics(id, lastStep.current),
      ]);
      if (signal.aborted) return current;
      setJob(current);
      addRows(fresh);
      await Promise.all([refreshEvents(), refreshCheckpoints()]);
      return current;
    };

    /** Reads the stream until it ends; true when the job finished (nothing more will come). */
    const follow = async (): Promise<boolean> => {
      const messages = await client.streamJob(id, lastStep.current, signal);
      setConnection('live');
      let first = true;
      for await (const message of messages) {
        if (message.event === 'metrics') addRows((JSON.parse(message.data) as { data: MetricRow[] }).data);
        else if (message.event === 'event') {
          const event = JSON.parse(message.data) as FineTuningEventObject;
          addEvents([event]);
          if (/checkpoint/i.test(event.message)) void refreshCheckpoints();
        } else if (message.event === 'status') {
          setJob(JSON.parse(message.data) as FineTuningJobObject);
          // The stream sends events from its opening on; the list fills in everything before, with no gap between.
          if (first) await refreshEvents();
          first = false;
          void refreshCheckpoints();
        } else if (message.event === 'end') return true;
      }
      return false;
    };

    const run = async () => {
      try {
        const initial = await poll();
        if (!isActive(initial.status)) {
          setConnection('ended');
          return;
        }
      } catch (caught) {
        if (!signal.aborted) setError(caught as Error);
        return;
      }
      while (!signal.aborted) {
        try {
          if (await follow()) {
            setConnection('ended');
            return;
          }
        } catch (caught) {
          if (signal.aborted) return;
          if (caught instanceof ApiError && (caught.status === 401 || caught.status === 404)) {
            setError(caught);
            return;
          }
        }
        if (signal.aborted) return;
        setConnection('polling');
        for (let i = 0; i < POLLS_BEFORE_RETRY && !signal.aborted; i++) {
          try {
            const current = await poll();
            if (!isActive(current.status)) {
              setConnection('ended');
              return;
            }
          } catch {
            // Keep showing what we have; the next poll or stream attempt may succeed.
          }
          await sleep(POLL_MS, signal);
        }
      }
    };
    void run();
    return () => controller.abort();
  }, [client, id, addRows, addEvents]);

  const loadOlderEvents = useCallback(async () => {
    const oldest = eventsRef.current[eventsRef.current.length - 1];
    const list = await client.listEvents(id, oldest?.id);
    addEvents(list.data);
    setHasOlderEvents(list.has_more);
  }, [client, id, addEvents]);

  return { job, rows, events, hasOlderEvents, checkpoints, connection, error, setJob, loadOlderEvents };
}
