/** Messages between the inference server's HTTP thread and its engine threads (all model compute). */
import type { GenerationEvent, GenerationRequest } from '@tracetune/serving';

export type ToEngine = { type: 'submit'; request: GenerationRequest } | { type: 'cancel'; id: string };

/** The engine thread posts arrays of these, one array per scheduler iteration. */
export type FromEngine = GenerationEvent | { type: 'ready'; backend: string; reason: string };
