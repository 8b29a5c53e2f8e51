import { JsonPrefix } from './json-prefix';
import { compileJsonSchema } from './json-schema';
import type { OutputFormat } from './request';
import { SchemaConstraint } from './schema-constraint';
import { toolCallConstraint } from './tool-calls';

/**
 * A constraint on the text a sequence generates (constrained decoding): an automaton over characters, fed the text of
 * each sampled token. The sampler tries a token's text on a clone and keeps the token only when the clone accepts it;
 * near the token budget it forces `closingSuffix()`, so that the output always ends complete (see
 * constrained-sampling.ts). Structured outputs (a JSON schema) and tool calls are further implementations.
 */
export interface OutputConstraint {
  /** True when the text so far is a complete output: the sequence may stop (only whitespace may follow). */
  readonly complete: boolean;
  /** Feeds text; false (and an unspecified state) when it leaves the language. */
  pushText(text: string): boolean;
  /** An independent copy, to try text on. */
  clone(): OutputConstraint;
  /** The shortest text that completes the output from here. */
  closingSuffix(): string;
}

/** The constraint an output format imposes; null for free text. */
export function outputConstraint(format: OutputFormat): OutputConstraint | null {
  switch (format.type) {
    case 'text':
      return null;
    case 'json_object':
      return new JsonPrefix();
    case 'json_schema':
      return SchemaConstraint.of(compileJsonSchema(format.schema));
    case 'tool_call':
      return toolCallConstraint(format.tools);
  }
}
