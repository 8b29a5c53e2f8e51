import { useEffect, useRef, useState } from 'react';

/**
 * A destructive action behind an inline confirmation: the first press asks, the second acts. Inline rather than
 * window.confirm so it is styled, announced to screen readers and keeps keyboard focus where the user is.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
  danger,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  disabled?: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);

  if (!asking) {
    return (
      <span className="confirm">
        <button
          type="button"
          className={danger ? 'danger' : undefined}
          disabled={disabled}
          onClick={() => setAsking(true)}
        >
          {label}
        </button>
        {error && (
          <span role="alert" className="inline-error">
            {error}
          </span>
        )}
      </span>
    );
  }
  const act = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };
  return (
    <span className="confirm confirm-asking" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        ref={confirmRef}
        className={danger ? 'danger' : 'primary'}
        disabled={busy}
        onClick={() => void act()}
      >
        {busy ? 'Working…' : confirmLabel}
      </button>
      <button type="button" disabled={busy} onClick={() => setAsking(false)}>
        Keep
      </button>
    </span>
  );
}
