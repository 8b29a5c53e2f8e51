import { useEffect, useRef, useState, type FormEvent } from 'react';

import { Page } from '../components/page';
import { Async } from '../components/states';
import { ApiError, type ChatMessage } from '../lib/api';
import { useRouter } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';
import { SideBySide } from './playground-compare';

interface Settings {
  temperature: number;
  top_p: number;
  max_tokens: number;
  seed: string;
}

function NumberField({
  id,
  label,
  value,
  onChange,
  min,
  max,
  step,
}: {
  id: string;
  label: string;
  value: number;
  onChange: (v: number) => void;
  min: number;
  max: number;
  step: number;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        value={value}
        min={min}
        max={max}
        step={step}
        onChange={(event) => onChange(Number(event.target.value))}
      />
    </div>
  );
}

/** Chat with any model through /v1/chat/completions, streamed token by token as the SDK would receive it. */
export function PlaygroundPage() {
  const { client } = useSession();
  const { location, navigate } = useRouter();
  const models = useResource(() => client.listModels(), [client]);
  const model = location.query.get('model') ?? models.data?.[0]?.id ?? '';
  const [system, setSystem] = useState('');
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState('');
  const [settings, setSettings] = useState<Settings>({
    temperature: 0.7,
    top_p: 1,
    max_tokens: 256,
    seed: '',
  });
  const [streaming, setStreaming] = useState(false);
  /** Deltas received for the last reply: shown as the reply's data attribute, so a test can tell streaming happened. */
  const [chunkCount, setChunkCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!draft.trim() || !model) return;
    const history: ChatMessage[] = [...messages, { role: 'user', content: draft }];
    setMessages([...history, { role: 'assistant', content: '' }]);
    setDraft('');
    setError(null);
    setChunkCount(0);
    setStreaming(true);
    const controller = new AbortController();
    abort.current = controller;
    try {
      const stream = client.chat(
        {
          model,
          messages: system.trim() ? [{ role: 'system', content: system }, ...history] : history,
          temperature: settings.temperature,
          top_p: settings.top_p,
          max_tokens: settings.max_tokens,
          ...(settings.seed.trim() ? { seed: Number(settings.seed) } : {}),
        },
        controller.signal,
      );
      let text = '';
      let chunks = 0;
      for await (const delta of stream) {
        text += delta;
        chunks += 1;
        setMessages([...history, { role: 'assistant', content: text }]);
        setChunkCount(chunks);
      }
    } catch (caught) {
      if (!controller.signal.aborted) {
        setError(
          caught instanceof ApiError && caught.status === 404
            ? `Chat is not available on this server: ${caught.message}`
            : (caught as Error).message,
        );
      }
    } finally {
      setStreaming(false);
      abort.current = null;
    }
  };

  return (
    <Page title="Playground">
      <div className="playground">
        <form className="chat" onSubmit={(event) => void send(event)} aria-label="Chat">
          <div className="transcript" aria-live="polite" aria-busy={streaming}>
            {messages.length === 0 && (
              <p className="muted">Send a message to start. Replies stream in as the model writes them.</p>
            )}
            {messages.map((message, index) => (
              <div
                key={index}
                className={`message message-${message.role}`}
                data-role={message.role}
                data-chunks={
                  index === messages.length - 1 && message.role === 'assistant' ? chunkCount : undefined
                }
                data-done={
                  index === messages.length - 1 && message.role === 'assistant'
                    ? String(!streaming)
                    : undefined
                }
              >
                <span className="message-role">{message.role}</span>
                <div className="pre-wrap">
                  {message.content || (streaming && index === messages.length - 1 ? '…' : '')}
                </div>
              </div>
            ))}
          </div>
          {error && (
            <p role="alert" className="inline-error">
              {error}
            </p>
          )}
          <label htmlFor="chat-input" className="visually-hidden">
            Message
          </label>
          <textarea
            id="chat-input"
            rows={3}
            placeholder="Ask something… (Ctrl+Enter to send)"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey))
                event.currentTarget.form?.requestSubmit();
            }}
          />
          <div className="row">
            <button type="submit" className="primary" disabled={streaming || !draft.trim() || !model}>
              Send
            </button>
            {streaming && (
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            )}
            <button
              type="button"
              disabled={streaming || messages.length === 0}
              onClick={() => setMessages([])}
            >
              Clear
            </button>
          </div>
        </form>
        <aside className="panel controls" aria-label="Settings">
          <div className="field">
            <label htmlFor="model">Model</label>
            <Async resource={models} what="models">
              {(list) => (
                <select
                  id="model"
                  value={model}
                  onChange={(event) =>
                    navigate(`/playground?model=${encodeURIComponent(event.target.value)}`, { replace: true })
                  }
                >
                  {!list.some((m) => m.id === model) && model && <option value={model}>{model}</option>}
                  {list.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.id}
                    </option>
                  ))}
                </select>
              )}
            </Async>
          </div>
          <div className="field">
            <label htmlFor="system">System prompt</label>
            <textarea
              id="system"
              rows={3}
              value={system}
              onChange={(event) => setSystem(event.target.value)}
            />
          </div>
          <NumberField
            id="temperature"
            label="Temperature"
            value={settings.temperature}
            min={0}
            max={2}
            step={0.1}
            onChange={(v) => setSettings({ ...settings, temperature: v })}
          />
          <NumberField
            id="top-p"
            label="Top-p"
            value={settings.top_p}
            min={0.01}
            max={1}
            step={0.05}
            onChange={(v) => setSettings({ ...settings, top_p: v })}
          />
          <NumberField
            id="max-tokens"
            label="Max tokens"
            value={settings.max_tokens}
            min={1}
            max={8192}
            step={1}
            onChange={(v) => setSettings({ ...settings, max_tokens: v })}
          />
          <div className="field">
            <label htmlFor="seed">Seed (optional)</label>
            <input
              id="seed"
              type="number"
              value={settings.seed}
              onChange={(event) => setSettings({ ...settings, seed: event.target.value })}
            />
          </div>
        </aside>
      </div>
      {models.data && model && (
        <SideBySide
          client={client}
          models={models.data}
          tuned={model}
          system={system}
          sampling={{
            temperature: settings.temperature,
            top_p: settings.top_p,
            max_tokens: settings.max_tokens,
          }}
        />
      )}
    </Page>
  );
}
