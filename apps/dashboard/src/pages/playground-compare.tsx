import { useRef, useState, type FormEvent } from 'react';

import type { ModelObject } from '@tracetune/contracts';

import type { ChatOptions, TracetuneClient } from '../lib/api';

type Sampling = Pick<ChatOptions, 'temperature' | 'top_p' | 'max_tokens'>;

interface Reply {
  model: string;
  text: string;
  done: boolean;
  error: string | null;
}

/** The base a model was tuned from: up its lineage (checkpoint → fine-tuned → … → base). */
export function baseOf(model: string, models: readonly ModelObject[]): string {
  const byId = new Map(models.map((m) => [m.id, m]));
  let current = byId.get(model);
  while (current?.parent && byId.has(current.parent)) current = byId.get(current.parent);
  return current?.parent ?? current?.id ?? model;
}

/**
 * Base and tuned model side by side: the same messages, sampling settings and seed sent to both, both replies
 * streamed at once into two columns.
 */
export function SideBySide({
  client,
  models,
  tuned,
  system,
  sampling,
}: {
  client: TracetuneClient;
  models: readonly ModelObject[];
  tuned: string;
  system: string;
  sampling: Sampling;
}) {
  const [left, setLeft] = useState<string | null>(null);
  const [prompt, setPrompt] = useState('');
  const [seed, setSeed] = useState('1');
  const [replies, setReplies] = useState<Reply[]>([]);
  const abort = useRef<AbortController | null>(null);
  const base = left ?? baseOf(tuned, models);

  const run = async (event: FormEvent) => {
    event.preventDefault();
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    const pair = [base, tuned];
    const state: Reply[] = pair.map((model) => ({ model, text: '', done: false, error: null }));
    setReplies(state.map((r) => ({ ...r })));
    const messages = [
      ...(system.trim() ? [{ role: 'system' as const, content: system }] : []),
      { role: 'user' as const, content: prompt },
    ];
    await Promise.all(
      pair.map(async (model, i) => {
        try {
          const options = { model, messages, ...sampling, seed: Number(seed) };
          for await (const delta of client.chat(options, controller.signal)) {
            state[i].text += delta;
            setReplies(state.map((r) => ({ ...r })));
          }
        } catch (caught) {
          if (!controller.signal.aborted) state[i].error = (caught as Error).message;
        }
        state[i].done = true;
        setReplies(state.map((r) => ({ ...r })));
      }),
    );
  };

  return (
    <section className="panel side-by-side" aria-labelledby="side-by-side-title">
      <h2 id="side-by-side-title">Base vs tuned</h2>
      <form className="row" onSubmit={(event) => void run(event)}>
        <label>
          Base model{' '}
          <select value={base} onChange={(event) => setLeft(event.target.value)}>
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Same seed <input type="number" value={seed} onChange={(event) => setSeed(event.target.value)} />
        </label>
        <label className="grow">
          Prompt for both <input value={prompt} onChange={(event) => setPrompt(event.target.value)} />
        </label>
        <button type="submit" disabled={!prompt.trim() || seed.trim() === ''}>
          Run both
        </button>
      </form>
      <div className="side-by-side-replies">
        {replies.map((reply) => (
          <div key={reply.model} className="message" data-model={reply.model} data-done={String(reply.done)}>
            <span className="message-role mono">{reply.model}</span>
            {reply.error ? (
              <p role="alert" className="inline-error">
                {reply.error}
              </p>
            ) : (
              <div className="pre-wrap">{reply.text || (reply.done ? '' : '…')}</div>
            )}
          </div>
        ))}
      </div>
    </section>
  );
}
