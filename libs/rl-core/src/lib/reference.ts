import {
  checkSequenceInput,
  contractConfig,
  SequenceObjectiveInput,
  SequenceObjectiveOutput,
} from './sequence-objective';
import { LOG_RATIO_LIMIT } from './variants';

/**
 * The readable float64 reference of docs/algorithm.md, written straight from the formulas with plain loops
 * (O(T²) for the traces) and an analytic gradient. It shares no numeric code with the tfjs path.
 */

/** Trace weight tr(t, l) of the spec, floor included; 0^0 = 1 (Math.pow agrees). */
export function referenceTraceWeight(
  style: 'recent' | 'both',
  c: number,
  floor: number,
  t: number,
  lag: number,
): number {
  const tr = style === 'recent' ? Math.pow(c, lag) : Math.max(Math.pow(c, lag), Math.pow(c, t - lag));
  return Math.max(tr, floor);
}

/** min(ρA, clip(ρ)A) and its derivative with respect to log ρ. */
function surrogate(
  logRatio: number,
  a: number,
  epsLow: number,
  epsHigh: number,
): { value: number; slope: number } {
  const x = Math.min(Math.max(logRatio, -LOG_RATIO_LIMIT), LOG_RATIO_LIMIT);
  const rho = Math.exp(x);
  const clipped = Math.min(Math.max(rho, 1 - epsLow), 1 + epsHigh);
  const unclippedWins = rho * a <= clipped * a;
  const capped = logRatio !== x;
  return {
    value: Math.min(rho * a, clipped * a),
    // The unclipped branch carries d(ρA)/dlogρ = ρA; the clipped branch is constant (and so is a capped ratio).
    slope: unclippedWins && !capped ? rho * a : 0,
  };
}

export function referenceSequenceObjective(input: SequenceObjectiveInput): SequenceObjectiveOutput {
  checkSequenceInput(input);
  const cfg = input.config;
  contractConfig(input); // validates the config
  const T = input.logpNew.length;

  // Advantage: A_i = (R_i − mean R) / (std R + advEps), then Ã = max(A, clamp).
  const R = input.groupRewards;
  const G = R.length;
  let mean = 0;
  for (const r of R) mean += r / G;
  let squares = 0;
  for (const r of R) squares += (r - mean) * (r - mean);
  const std = Math.sqrt(squares / (cfg.stdMode === 'sample' ? G - 1 : G));
  const allEqual = R.every((r) => r === R[0]);
  const advantageRaw = allEqual ? 0 : (R[input.index] - mean) / (std + cfg.advEps);
  const advantage =
    cfg.advantageClampMin === null ? advantageRaw : Math.max(advantageRaw, cfg.advantageClampMin);

  // Trace weights tr(t, t−k); grpo is the identity trace (only lag 0).
  const lambdaTraced = cfg.estimator === 'grpo_lambda';
  const c = cfg.gamma * cfg.lambda;
  // The T×T lower-triangular trace matrix, tr[t][k] = tr(t, t − k) (filled once; the loops below read it).
  const trMatrix: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const row = new Float64Array(t + 1);
    for (let k = 0; k <= t; k++) {
      row[k] = lambdaTraced
        ? referenceTraceWeight(cfg.traceStyle, c, cfg.traceFloor, t, t - k)
        : t === k
          ? 1
          : 0;
    }
    trMatrix.push(row);
  }
  const tr = (t: number, k: number): number => trMatrix[t][k];
  const W: number[] = [];
  for (let k = 0; k < T; k++) {
    let sum = 0;
    for (let t = k; t < T; t++) sum += tr(t, k);
    W.push(sum);
  }
  const meanW = W.reduce((s, w) => s + w, 0) / T;
  const scale = cfg.normalizeTraceWeights ? 1 / meanW : 1;
  const epsHigh = cfg.clipEpsHigh ?? cfg.clipEps;

  const d: number[] = [];
  for (let k = 0; k < T; k++) d.push(input.logpNew[k] - input.logpOld[k]);

  // Policy term and d(policy)/d logpNew_k.
  let objectiveSum = 0;
  const grad = new Array<number>(T).fill(0);
  let z: number[] | null = null;
  const useTrace = lambdaTraced && cfg.variant === 'eps_trace';
  if (useTrace || !lambdaTraced) {
    // ε-trace (and GRPO, whose trace is the identity): z_t = Σ_{k≤t} tr(t, t−k)·d_k, obj_t = surrogate(z_t).
    z = [];
    for (let t = 0; t < T; t++) {
      let zt = 0;
      for (let k = 0; k <= t; k++) zt += tr(t, k) * d[k];
      z.push(zt);
      const s = surrogate(zt, advantage, cfg.clipEps, epsHigh);
      objectiveSum += scale * s.value;
      for (let k = 0; k <= t; k++) grad[k] += scale * s.slope * tr(t, k); // dz_t/dd_k = tr(t, t−k)
    }
  } else {
    // ε-weight: obj_k = W_k·surrogate(d_k).
    for (let k = 0; k < T; k++) {
      const s = surrogate(d[k], advantage, cfg.clipEps, epsHigh);
      objectiveSum += scale * W[k] * s.value;
      grad[k] += scale * W[k] * s.slope;
    }
  }

  // KL (untraced): k3 = exp(x) − x − 1, x = ref − new, d k3 / d new = 1 − exp(x).
  if (cfg.beta > 0 && input.logpRef === null) {
    throw new Error(`beta = ${cfg.beta} > 0 needs reference log-probs (logpRef); pass them or set beta = 0`);
  }
  if (input.logpRef !== null && cfg.beta > 0) {
    for (let k = 0; k < T; k++) {
      const raw = input.logpRef[k] - input.logpNew[k];
      const x = Math.min(Math.max(raw, -LOG_RATIO_LIMIT), LOG_RATIO_LIMIT);
      objectiveSum -= cfg.beta * (Math.exp(x) - x - 1);
      grad[k] -= cfg.beta * (x === raw ? 1 - Math.exp(x) : 0);
    }
  }

  // L = −(1/T) Σ obj.
  return {
    advantageRaw,
    advantage,
    loss: -objectiveSum / T,
    gradLogpNew: grad.map((g) => -g / T),
    tracedLogRatio: lambdaTraced && useTrace ? z : null,
    weights: lambdaTraced ? W : new Array<number>(T).fill(1),
  };
}
