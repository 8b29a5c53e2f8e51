import { creditColour, creditScale, tokenTitle, type LoggedSample, type TokenDetail } from '../../lib/credit';

/** One completion's tokens, each coloured by the credit it gets under one estimator; clipped tokens underlined. */
function TokenStrip({
  detail,
  advantage,
  credits,
  scale,
  label,
}: {
  detail: TokenDetail;
  advantage: number;
  credits: readonly number[];
  scale: number;
  label: string;
}) {
  return (
    <p className="token-strip" aria-label={label}>
      {detail.text.map((text, k) => (
        <span
          key={k}
          className={`token${detail.clip[k] ? ' token-clipped' : ''}`}
          data-k={k}
          data-credit={credits[k]}
          style={{ backgroundColor: creditColour(credits[k], scale) }}
          title={tokenTitle(detail, k, advantage, credits[k])}
        >
          {text === '' ? '\u200b' : text}
        </span>
      ))}
      {detail.truncated && <span className="muted"> … (cut at {detail.text.length} tokens)</span>}
    </p>
  );
}

/**
 * Where the credit of one completion went: GRPO gives every token the sequence's advantage Ã; GRPO-λ gives token k
 * Ã × W_k (its trace weight). Each panel is coloured on its own scale (full colour at its largest |credit|, written
 * under it), so the panels show where the credit went within the completion. Hover a token for its log-prob, weight,
 * credit and clip mark.
 */
export function CreditView({ sample, trainedWith }: { sample: LoggedSample; trainedWith: string | null }) {
  const detail = sample.tokens as TokenDetail;
  const advantage = sample.advantage ?? 0;
  const flat = detail.text.map(() => advantage);
  const flatScale = creditScale([flat]);
  const scale = creditScale([detail.credit]);
  const traced = detail.weight.some((w) => w !== 1);
  return (
    <div className="credit-view">
      <div className="credit-panel" data-estimator="grpo">
        <h4>
          GRPO: Ã = {advantage} on every token{trainedWith === 'grpo' ? ' (this run)' : ''}{' '}
          <span className="muted">(full colour at |credit| = {flatScale})</span>
        </h4>
        <TokenStrip
          detail={detail}
          advantage={advantage}
          credits={flat}
          scale={flatScale}
          label="Credit under GRPO"
        />
      </div>
      <div className="credit-panel" data-estimator="grpo_lambda">
        <h4>
          GRPO-λ: Ã × trace weight{trainedWith === 'grpo_lambda' ? ' (this run)' : ''}{' '}
          <span className="muted">(full colour at |credit| = {scale})</span>
        </h4>
        {traced ? (
          <TokenStrip
            detail={detail}
            advantage={advantage}
            credits={detail.credit}
            scale={scale}
            label="Credit under GRPO-λ"
          />
        ) : (
          <p className="muted">
            This run trained with GRPO: every trace weight is 1, so the credit is Ã on every token.
          </p>
        )}
      </div>
      <p className="credit-legend muted">
        <span className="swatch" style={{ backgroundColor: creditColour(-1, 1) }} /> negative credit{' '}
        <span className="swatch" style={{ backgroundColor: creditColour(1, 1) }} /> positive credit;{' '}
        <span className="token-clipped">underlined</span>: ratio clipped in the step&apos;s last pass
        (gradient cut)
        {sample.clamped ? `; the clamp raised A = ${sample.advantage_raw} to Ã = ${advantage}` : ''}.
      </p>
    </div>
  );
}
