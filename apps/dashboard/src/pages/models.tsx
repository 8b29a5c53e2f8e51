import type { ModelObject } from '@tracetune/contracts';

import { DownloadButton } from '../components/download-button';
import { Page } from '../components/page';
import { Async } from '../components/states';
import { formatTime } from '../lib/format';
import { Link } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';

interface Node {
  model: ModelObject;
  children: Node[];
}

/** Lineage as a forest: base models at the roots, fine-tuned models under their parent, checkpoints under theirs. */
function buildForest(models: ModelObject[]): Node[] {
  const nodes = new Map(models.map((model) => [model.id, { model, children: [] as Node[] }]));
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parent = node.model.parent ? nodes.get(node.model.parent) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const order = { base: 0, fine_tuned: 1, checkpoint: 2 } as const;
  const sort = (list: Node[]) => {
    list.sort((a, b) => order[a.model.kind] - order[b.model.kind] || a.model.id.localeCompare(b.model.id));
    list.forEach((node) => sort(node.children));
  };
  sort(roots);
  return roots;
}

/** The organization's own models (fine-tuned, checkpoints, uploads) can be downloaded; shared bases cannot. */
const downloadable = (model: ModelObject) =>
  model.kind !== 'base' || (model.source === 'imported' && model.owned_by !== 'system');

function ModelTree({ nodes }: { nodes: Node[] }) {
  return (
    <ul className="tree">
      {nodes.map(({ model, children }) => (
        <li key={model.id}>
          <div className="tree-row">
            <span className="mono wrap-anywhere">{model.id}</span>
            <span className={`badge badge-kind-${model.kind}`}>{model.kind.replace('_', '-')}</span>
            <span className="muted">{model.source}</span>
            {model.fine_tuning_job && (
              <Link to={`/runs/${model.fine_tuning_job}`} className="muted">
                from {model.fine_tuning_job}
              </Link>
            )}
            <span className="muted">{formatTime(model.created)}</span>
            <Link to={`/playground?model=${encodeURIComponent(model.id)}`}>Try it</Link>
            {downloadable(model) && <DownloadButton model={model.id} />}
          </div>
          {children.length > 0 && <ModelTree nodes={children} />}
        </li>
      ))}
    </ul>
  );
}

/** Every model the organization can use: built-in and imported bases, fine-tuned models and their checkpoints. */
export function ModelsPage() {
  const { client } = useSession();
  const models = useResource(() => client.listModels(), [client], 10_000);
  return (
    <Page title="Models">
      <Async
        resource={models}
        what="models"
        isEmpty={(list) => list.length === 0}
        empty="No models. Built-in bases appear once the api is configured."
      >
        {(list) => (
          <>
            <p className="muted">
              {list.filter((m) => m.kind === 'base').length} base ·{' '}
              {list.filter((m) => m.kind === 'fine_tuned').length} fine-tuned ·{' '}
              {list.filter((m) => m.kind === 'checkpoint').length} checkpoints
            </p>
            <ModelTree nodes={buildForest(list)} />
          </>
        )}
      </Async>
    </Page>
  );
}
