export {
  type AdapterReport,
  backendMemoryLimitBytes,
  backendTensorLimitBytes,
  describeBackend,
  type BackendChoice,
  type BackendLog,
  type BackendReport,
  setupBackend,
} from './backend';
export {
  BUILTIN_CONFIGS,
  builtinConfig,
  byteModelConfig,
  configFromHf,
  configToHf,
  contextLength,
  loraParameterCount,
  type ModelConfig,
  parameterCount,
  type RopeScaling,
  ropeScalingFromHf,
  trainingMemoryBytes,
} from './config';
export {
  type CachedPrefix,
  decodeStep,
  KVCache,
  prefill,
  prefillBatch,
  type StepLogits,
  uncachedLogits,
} from './kv-cache';
export {
  decodeSlots,
  forwardSlots,
  SlotCache,
  slotCacheAvailable,
  slotCacheBytes,
  type SlotTokens,
} from './slot-cache';
export { LORA_TARGETS, type LoraConfig, type LoraTarget, validateLoraConfig } from './lora';
export {
  type Attention,
  CachedAttention,
  CausalAttention,
  groupedAttention,
  type LayerKV,
  type PastContext,
} from './attention';
export { rangePositions } from './masks';
export {
  type ForwardInput,
  type LogProbOptions,
  type LogProbResult,
  type TokenBatch,
  TransformerModel,
} from './model';
export type { Projections } from './projections';
export { freezePeakBytes, inferenceBytes, PACK_ALL_MAX_PARAMETERS } from './serving-weights';
export { bmm, matmul, rmsNorm, ropeFrequencies, ropeTables, rotateHalfMatrix, silu } from './ops';
export { Rng } from './rng';
export {
  type Completion,
  generate,
  type GenerateOptions,
  type LogitsProcessor,
  logSoftmax,
  nucleus,
  sampleToken,
  type SamplingParams,
  StopChecker,
  type TokenLogprob,
  topN,
} from './sampler';
export { registerWasmKernels } from './wasm-kernels';
export { adapterSummary } from './webgpu';
export { modelShape, type TensorSpec, tensorSpecs } from './weights';
export {
  checkpointConfig,
  type GenerationConfig,
  type LoadedCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint';
export { registerGradients } from '@tracetune/tfjs-gradients';
export {
  convertedTensors,
  floatToHalf,
  safetensorsBytes,
  safetensorsChunks,
  SafetensorsFile,
  type SafetensorsDtype,
  type TensorEntry,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors';
export { transpose2d } from './weights';
export {
  loadPeftAdapter,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  peftAdapterConfig,
  peftTensorName,
  savePeftAdapter,
} from './peft';
