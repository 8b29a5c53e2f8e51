import type { FineTuningCheckpointObject } from '@tracetune/contracts';

import { DownloadButton } from '../../components/download-button';
import { Empty, Loading } from '../../components/states';
import { formatNumber, formatTime } from '../../lib/format';
import { Link } from '../../lib/router';

const HEADLINE = ['reward', 'accuracy', 'eval_accuracy', 'kl'];

/** Saved checkpoints with their metrics; each is a servable model, so each links to the playground. */
export function Checkpoints({ checkpoints }: { checkpoints: FineTuningCheckpointObject[] | undefined }) {
  if (!checkpoints) return <Loading what="checkpoints" />;
  if (checkpoints.length === 0) return <Empty>No checkpoints yet.</Empty>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Checkpoints, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Model</th>
            {HEADLINE.map((name) => (
              <th scope="col" key={name} className="num">
                {name}
              </th>
            ))}
            <th scope="col">Saved</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {checkpoints.map((checkpoint) => (
            <tr key={checkpoint.id}>
              <td>{checkpoint.step_number}</td>
              <td className="mono wrap-anywhere">{checkpoint.fine_tuned_model_checkpoint}</td>
              {HEADLINE.map((name) => (
                <td key={name} className="num">
                  {formatNumber(checkpoint.metrics[name])}
                </td>
              ))}
              <td className="nowrap">{formatTime(checkpoint.created_at)}</td>
              <td>
                <Link to={`/playground?model=${encodeURIComponent(checkpoint.fine_tuned_model_checkpoint)}`}>
                  Try it
                </Link>{' '}
                <DownloadButton model={checkpoint.fine_tuned_model_checkpoint} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
