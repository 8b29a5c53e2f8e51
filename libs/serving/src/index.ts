export { type OutputConstraint, outputConstraint } from './lib/constraints';
export { sampleConstrained } from './lib/constrained-sampling';
export { createDecodeBatch, type DecodeBatch } from './lib/decode-batch';
export { JsonPrefix } from './lib/json-prefix';
export { compileJsonSchema, deref, type SchemaNode, UnsupportedSchemaError } from './lib/json-schema';
export { SchemaConstraint } from './lib/schema-constraint';
export {
  parseToolCalls,
  type ParsedToolCall,
  TOOL_CALL_CLOSE,
  TOOL_CALL_OPEN,
  toolCallConstraint,
  type ToolSpec,
} from './lib/tool-calls';
export { type LoadedModel, ModelCache } from './lib/model-cache';
export { disposePrefix, PrefixCache, type PrefixCacheStats, type PrefixHit } from './lib/prefix-cache';
export type {
  GenerationEvent,
  GenerationRequest,
  ModelRef,
  OutputFormat,
  Prompt,
  PromptMessage,
  PromptToolCall,
  TokenLogprobInfo,
} from './lib/request';
export { Scheduler, type SchedulerObserver, type SchedulerOptions } from './lib/scheduler';
