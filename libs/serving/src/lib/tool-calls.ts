import { compileJsonSchema, type SchemaNode } from './json-schema';
import { SchemaConstraint } from './schema-constraint';

/**
 * Tool calls in the Hermes format that Qwen's chat templates and Tracetune's default template use: each call is a JSON
 * object `{"name": …, "arguments": {…}}` between `<tool_call>` tags. A forced call (`tool_choice` `required` or a
 * named function) is decoded under a constraint, its arguments matching the function's JSON schema; any reply of a
 * request with tools is parsed back into OpenAI's `tool_calls`.
 */
export const TOOL_CALL_OPEN = '<tool_call>\n';
export const TOOL_CALL_CLOSE = '\n</tool_call>';

export interface ToolSpec {
  name: string;
  /** The function's JSON schema; null for a function without parameters. */
  parameters: Record<string, unknown> | null;
}

export interface ParsedToolCall {
  name: string;
  /** The arguments as a JSON text, as OpenAI returns them. */
  arguments: string;
}

const NO_PARAMETERS = { type: 'object', properties: {} };

/** The JSON object of one call of any of `tools`: the name first, then arguments matching that function's schema. */
export function toolCallNode(tools: readonly ToolSpec[]): SchemaNode {
  const options: SchemaNode[] = tools.map((tool) => ({
    kind: 'object',
    props: [
      { key: 'name', node: { kind: 'literal', texts: [JSON.stringify(tool.name)] }, required: true },
      { key: 'arguments', node: compileJsonSchema(tool.parameters ?? NO_PARAMETERS), required: true },
    ],
  }));
  return options.length === 1 ? options[0] : { kind: 'anyOf', options };
}

/** Exactly one call of one of `tools`, tags included. */
export function toolCallConstraint(tools: readonly ToolSpec[]): SchemaConstraint {
  return SchemaConstraint.of(toolCallNode(tools), TOOL_CALL_OPEN, TOOL_CALL_CLOSE);
}

const CALL = /<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g;

function parseCall(body: string, names: ReadonlySet<string>): ParsedToolCall | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { name, arguments: args } = value as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || !names.has(name)) return null;
  if (typeof args === 'string') return { name, arguments: args };
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return null;
  return { name, arguments: JSON.stringify(args) };
}

/**
 * The tool calls in a reply, and the text around them (null when there is none). Null when the reply has no call
 * or a malformed one: then the whole reply stays text, as the model wrote it.
 */
export function parseToolCalls(
  text: string,
  names: ReadonlySet<string>,
): { content: string | null; calls: ParsedToolCall[] } | null {
  const calls: ParsedToolCall[] = [];
  for (const match of text.matchAll(CALL)) {
    const call = parseCall(match[1], names);
    if (!call) return null;
    calls.push(call);
  }
  if (calls.length === 0) return null;
  const rest = text.replace(CALL, '').trim();
  return { content: rest === '' ? null : rest, calls };
}
