/** Messages between the inference server's HTTP thread and its engine threads (all model compute). */
import type { GenerationEvent, GenerationRequest } from '@tracetune/serving';

export type ToEngine =
  | { type: 'submit'; request: GenerationRequest }
  | { type: 'cancel'; id: string }
  /** Asks for an EngineStats report (at each /metrics scrape). */
  | { type: 'stats' };

/** An engine thread's figures for /metrics: gauges as of now, counters since it started. */
export interface EngineStats {
  running: number;
  waiting: number;
  kvReservedBytes: number;
  kvBudgetBytes: number;
  modelCacheBytes: number;
  /** Counters since the engine started. */
  generatedTokens: number;
  modelLoads: number;
  modelEvictions: number;
  /** [rows, decode steps with that many rows] since the previous report. */
  batchSizes: [number, number][];
}

/** The engine thread posts arrays of these, one array per scheduler iteration. */
export type FromEngine =
  | GenerationEvent
  | { type: 'ready'; backend: string; reason: string }
  | { type: 'stats'; stats: EngineStats };
