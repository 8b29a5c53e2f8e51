/**
 * `@tracetune/model/metadata`: what can be known about a model without computing with it — architectures and their
 * Hugging Face `config.json` form, parameter counts, tensor names and shapes, safetensors headers. It imports no
 * tfjs, so processes that only inspect models (the api) do not load a compute backend.
 */
export {
  BUILTIN_CONFIGS,
  builtinConfig,
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
  convertedTensors,
  safetensorsBytes,
  safetensorsChunks,
  SafetensorsFile,
  type SafetensorsDtype,
  type TensorEntry,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors';
export { modelShape, type TensorSpec, tensorSpecs } from './weights';
