import { useState } from 'react';

import { useSession } from '../lib/session-context';

/**
 * Downloads a model of the organization as the .tar of its Hugging Face folder (`GET /v1/models/{model}/content`;
 * LoRA runs add `adapter/` in PEFT layout). The key travels in the header, so the file is fetched, then saved;
 * for large models use `tracetune models export`.
 */
export function DownloadButton({ model }: { model: string }) {
  const { client } = useSession();
  const [state, setState] = useState<'idle' | 'busy' | 'failed'>('idle');
  const download = async () => {
    setState('busy');
    try {
      const response = await client.send(`/v1/models/${encodeURIComponent(model)}/content`);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `${model.replace(/[^A-Za-z0-9._-]+/g, '_')}.tar`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState('idle');
    } catch {
      setState('failed');
    }
  };
  return (
    <button
      type="button"
      className="link-button"
      disabled={state === 'busy'}
      title="Hugging Face folder as .tar"
      onClick={() => void download()}
    >
      {state === 'busy' ? 'Downloading…' : state === 'failed' ? 'Download failed, retry' : 'Download'}
    </button>
  );
}
