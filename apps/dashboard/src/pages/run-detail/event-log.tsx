import { useState } from 'react';

import type { FineTuningEventObject } from '@tracetune/contracts';

import { Empty } from '../../components/states';
import { formatTime } from '../../lib/format';

/** The job's events, newest first; metrics events (one per step) can be hidden to read the messages. */
export function EventLog({
  events,
  hasOlder,
  loadOlder,
}: {
  events: FineTuningEventObject[];
  hasOlder: boolean;
  loadOlder: () => Promise<void>;
}) {
  const [hideMetrics, setHideMetrics] = useState(false);
  const [busy, setBusy] = useState(false);
  const shown = hideMetrics ? events.filter((e) => e.type !== 'metrics') : events;
  return (
    <>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={hideMetrics}
          onChange={(event) => setHideMetrics(event.target.checked)}
        />{' '}
        Hide metrics events
      </label>
      {shown.length === 0 ? (
        <Empty>No events yet.</Empty>
      ) : (
        <div className="table-wrap event-log">
          <table>
            <caption className="visually-hidden">Job events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Level</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((event) => (
                <tr key={event.id} className={`level-${event.level}`}>
                  <td className="nowrap">{formatTime(event.created_at)}</td>
                  <td>
                    <span className={`level level-${event.level}`}>{event.level}</span>
                  </td>
                  <td>
                    {event.message}
                    {event.type === 'metrics' && event.data && !('samples' in event.data) && (
                      <details>
                        <summary>data</summary>
                        <pre>{JSON.stringify(event.data, null, 2)}</pre>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {hasOlder && (
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void loadOlder().finally(() => setBusy(false));
          }}
        >
          {busy ? 'Loading…' : 'Load older events'}
        </button>
      )}
    </>
  );
}
