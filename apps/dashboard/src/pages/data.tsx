import type { FileObject, ValidationReport } from '@tracetune/contracts';

import { Page } from '../components/page';
import { Async, Empty } from '../components/states';
import { StatusBadge } from '../components/status-badge';
import { formatBytes, formatNumber, formatTime } from '../lib/format';
import { Link, useRouter } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';

const PREVIEW_LINES = 20;

/** Normalises a JSONL line's spacing when it parses; a broken line is shown as it is. */
function prettyLine(line: string): string {
  try {
    return JSON.stringify(JSON.parse(line));
  } catch {
    return line;
  }
}

function Validation({ file }: { file: FileObject }) {
  const report = file.validation as unknown as ValidationReport | null | undefined;
  return (
    <>
      {file.status_details && (
        <p
          className={file.status === 'error' ? 'inline-error' : 'muted'}
          role={file.status === 'error' ? 'alert' : undefined}
        >
          {file.status_details}
        </p>
      )}
      {!report ? (
        <p className="muted">No validation report (only fine-tune files are validated).</p>
      ) : (
        <>
          <dl className="summary">
            <div>
              <dt>Format</dt>
              <dd>{report.format ?? 'invalid'}</dd>
            </div>
            <div>
              <dt>Usable for</dt>
              <dd>
                {[
                  report.compatible.supervised && 'supervised',
                  report.compatible.reinforcement && 'reinforcement',
                ]
                  .filter(Boolean)
                  .join(', ') || 'nothing yet'}
              </dd>
            </div>
            <div>
              <dt>Lines / examples</dt>
              <dd>
                {formatNumber(report.lines)} / {formatNumber(report.examples)}
              </dd>
            </div>
            <div>
              <dt>Tokens (total · max · mean)</dt>
              <dd>
                {formatNumber(report.tokens.total)} · {formatNumber(report.tokens.max)} ·{' '}
                {formatNumber(report.tokens.mean)}
              </dd>
            </div>
            <div>
              <dt>Item keys</dt>
              <dd className="mono">{Object.keys(report.item_keys).join(', ') || '—'}</dd>
            </div>
          </dl>
          {report.error_count > 0 && (
            <>
              <h3>
                {report.error_count} error{report.error_count === 1 ? '' : 's'}
                {report.error_count > report.errors.length ? ` (first ${report.errors.length} shown)` : ''}
              </h3>
              <ul className="errors">
                {report.errors.map((error, index) => (
                  <li key={index}>
                    <strong>{error.line === 0 ? 'file' : `line ${error.line}`}</strong>{' '}
                    <span className="mono">{error.code}</span>: {error.message}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </>
  );
}

function Preview({ id }: { id: string }) {
  const { client } = useSession();
  const head = useResource((signal) => client.fileHead(id, PREVIEW_LINES, signal), [client, id]);
  return (
    <Async
      resource={head}
      what="the preview"
      isEmpty={(h) => h.lines.length === 0}
      empty="The file is empty."
    >
      {(h) => (
        <>
          <ol className="preview">
            {h.lines.map((line, index) => (
              <li key={index}>
                <pre>{prettyLine(line)}</pre>
              </li>
            ))}
          </ol>
          {h.truncated && <p className="muted">First {PREVIEW_LINES} lines shown.</p>}
        </>
      )}
    </Async>
  );
}

/** Uploaded files with their validation status and errors, and a preview of the first rows of the one chosen. */
export function DataPage() {
  const { client } = useSession();
  const { location } = useRouter();
  const files = useResource(
    (signal) => client.request<{ data: FileObject[] }>('/v1/files', { signal }),
    [client],
    5_000,
  );
  const chosenId = location.query.get('file');
  const chosen = files.data?.data.find((file) => file.id === chosenId);
  return (
    <Page title="Data">
      <Async
        resource={files}
        what="files"
        isEmpty={(list) => list.data.length === 0}
        empty="No files yet. Upload JSONL with client.files.create({ purpose: 'fine-tune' })."
      >
        {(list) => (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Files, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Purpose</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Examples
                  </th>
                  <th scope="col" className="num">
                    Errors
                  </th>
                  <th scope="col" className="num">
                    Size
                  </th>
                  <th scope="col">Uploaded</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((file) => {
                  const report = file.validation as unknown as ValidationReport | null | undefined;
                  return (
                    <tr key={file.id} aria-current={file.id === chosenId ? 'true' : undefined}>
                      <td>
                        <Link to={`/data?file=${encodeURIComponent(file.id)}`}>{file.filename}</Link>
                        <div className="muted mono">{file.id}</div>
                      </td>
                      <td>{file.purpose}</td>
                      <td>
                        <StatusBadge status={file.status} />
                      </td>
                      <td className="num">{formatNumber(report?.examples)}</td>
                      <td className="num">{formatNumber(report?.error_count)}</td>
                      <td className="num">{formatBytes(file.bytes)}</td>
                      <td className="nowrap">{formatTime(file.created_at)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Async>
      {chosenId && (
        <section aria-labelledby="file-title" className="panel">
          <h2 id="file-title">{chosen ? chosen.filename : chosenId}</h2>
          {!chosen ? (
            files.data ? (
              <Empty>No file {chosenId} in your organization.</Empty>
            ) : null
          ) : (
            <>
              <Validation file={chosen} />
              <h3>First rows</h3>
              <Preview id={chosen.id} />
            </>
          )}
        </section>
      )}
    </Page>
  );
}
