/**
 * The subset of JSON Schema that structured outputs and forced tool calls constrain decoding to, compiled to a small
 * tree the schema automaton walks (schema-constraint.ts). Keywords outside the subset are refused by name
 * (`UnsupportedSchemaError`) rather than ignored, so a schema is never silently weakened.
 *
 * What decoding produces is always valid for the schema, but it is a subset of the valid documents: keys come in the
 * schema's order (optional ones may be skipped), no additional properties and no whitespace outside strings. A schema
 * without `type` (`{}`) produces a string, number, boolean or null.
 */
export type SchemaNode =
  | { kind: 'object'; props: { key: string; node: SchemaNode; required: boolean }[] }
  | { kind: 'array'; items: SchemaNode; min: number; max: number }
  | { kind: 'string'; min: number; max: number }
  | { kind: 'number'; integer: boolean; min: number; max: number }
  /** Exact JSON texts (`enum`, `const`, booleans, null). */
  | { kind: 'literal'; texts: string[] }
  | { kind: 'anyOf'; options: SchemaNode[] }
  /** A `$ref`, resolved once every definition is compiled (definitions may be recursive). */
  | { kind: 'ref'; target: SchemaNode | null };

export class UnsupportedSchemaError extends Error {
  constructor(
    message: string,
    /** Where in the schema, as a param path relative to the schema (`properties.email.format`). */
    readonly path: string,
  ) {
    super(message);
  }
}

/** Annotations that do not constrain values. */
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples']);
const KEYWORDS: Record<string, readonly string[]> = {
  object: ['type', 'properties', 'required', 'additionalProperties'],
  array: ['type', 'items', 'minItems', 'maxItems'],
  string: ['type', 'minLength', 'maxLength'],
  number: ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  integer: ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  boolean: ['type'],
  null: ['type'],
};
const TYPES = Object.keys(KEYWORDS);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

class Compiler {
  private readonly refs = new Map<string, { kind: 'ref'; target: SchemaNode | null }>();

  constructor(private readonly root: Json) {}

  compile(schema: unknown, path: string): SchemaNode {
    if (schema === true || (isObject(schema) && this.onlyAnnotations(schema))) return anyScalar();
    if (!isObject(schema)) throw new UnsupportedSchemaError('a schema must be an object', path);
    if (typeof schema['$ref'] === 'string') return this.ref(schema, path);
    if ('enum' in schema || 'const' in schema) return this.literal(schema, path);
    if (Array.isArray(schema['anyOf'])) return this.anyOf(schema, path);
    const type = schema['type'];
    if (Array.isArray(type)) {
      const options = type.map((t, i) =>
        this.typed({ ...schema, type: t }, join(path, 'type'), join(join(path, 'type'), i)),
      );
      return options.length === 1 ? options[0] : { kind: 'anyOf', options };
    }
    return this.typed(schema, path, join(path, 'type'));
  }

  private onlyAnnotations(schema: Json): boolean {
    return Object.keys(schema).every((k) => ANNOTATIONS.has(k) || k === '$defs' || k === 'definitions');
  }

  private checkKeywords(schema: Json, allowed: readonly string[], path: string): void {
    for (const key of Object.keys(schema)) {
      if (ANNOTATIONS.has(key) || allowed.includes(key)) continue;
      if ((key === '$defs' || key === 'definitions') && schema === this.root) continue;
      throw new UnsupportedSchemaError(`the keyword '${key}' is not supported`, join(path, key));
    }
  }

  private typed(schema: Json, path: string, typePath: string): SchemaNode {
    const type = schema['type'];
    if (type === undefined) {
      const known = new Set(Object.values(KEYWORDS).flat());
      const unknown = Object.keys(schema).find((k) => !ANNOTATIONS.has(k) && !known.has(k));
      if (unknown)
        throw new UnsupportedSchemaError(`the keyword '${unknown}' is not supported`, join(path, unknown));
    }
    if (typeof type !== 'string' || !TYPES.includes(type)) {
      throw new UnsupportedSchemaError(
        `'type' must be one of ${TYPES.join(', ')} (or a list of them)`,
        typeof type === 'string' ? typePath : path,
      );
    }
    this.checkKeywords(schema, KEYWORDS[type], path);
    switch (type) {
      case 'object':
        return this.object(schema, path);
      case 'array':
        return {
          kind: 'array',
          items: 'items' in schema ? this.compile(schema['items'], join(path, 'items')) : anyScalar(),
          min: count(schema, 'minItems', 0, path),
          max: count(schema, 'maxItems', Infinity, path),
        };
      case 'string':
        return {
          kind: 'string',
          min: count(schema, 'minLength', 0, path),
          max: count(schema, 'maxLength', Infinity, path),
        };
      case 'number':
      case 'integer':
        return number(schema, type === 'integer', path);
      case 'boolean':
        return { kind: 'literal', texts: ['true', 'false'] };
      default:
        return { kind: 'literal', texts: ['null'] };
    }
  }

  private object(schema: Json, path: string): SchemaNode {
    const properties = schema['properties'] ?? {};
    if (!isObject(properties))
      throw new UnsupportedSchemaError("'properties' must be an object", join(path, 'properties'));
    const required = schema['required'] ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string'))
      throw new UnsupportedSchemaError("'required' must be a list of names", join(path, 'required'));
    for (const name of required as string[]) {
      if (!(name in properties))
        throw new UnsupportedSchemaError(`required '${name}' is not in 'properties'`, join(path, 'required'));
    }
    const additional = schema['additionalProperties'];
    if (additional !== undefined && typeof additional !== 'boolean' && !isObject(additional))
      throw new UnsupportedSchemaError(
        "'additionalProperties' must be a boolean or a schema",
        join(path, 'additionalProperties'),
      );
    return {
      kind: 'object',
      props: Object.entries(properties).map(([key, sub]) => ({
        key,
        node: this.compile(sub, join(join(path, 'properties'), key)),
        required: (required as string[]).includes(key),
      })),
    };
  }

  private literal(schema: Json, path: string): SchemaNode {
    this.checkKeywords(schema, ['enum', 'const', 'type'], path);
    const values = 'const' in schema ? [schema['const']] : schema['enum'];
    if (!Array.isArray(values) || values.length === 0)
      throw new UnsupportedSchemaError("'enum' must be a non-empty list", join(path, 'enum'));
    return { kind: 'literal', texts: [...new Set(values.map((v) => JSON.stringify(v)))] };
  }

  private anyOf(schema: Json, path: string): SchemaNode {
    this.checkKeywords(schema, ['anyOf'], path);
    const options = (schema['anyOf'] as unknown[]).map((s, i) =>
      this.compile(s, join(join(path, 'anyOf'), i)),
    );
    if (options.length === 0)
      throw new UnsupportedSchemaError("'anyOf' must not be empty", join(path, 'anyOf'));
    return options.length === 1 ? options[0] : { kind: 'anyOf', options };
  }

  private ref(schema: Json, path: string): SchemaNode {
    this.checkKeywords(schema, ['$ref'], path);
    const ref = schema['$ref'] as string;
    const known = this.refs.get(ref);
    if (known) return known;
    const match = /^#(?:\/(\$defs|definitions)\/([^/]+))?$/.exec(ref);
    if (!match)
      throw new UnsupportedSchemaError(`only local references (#/$defs/…) are supported`, join(path, '$ref'));
    const node: { kind: 'ref'; target: SchemaNode | null } = { kind: 'ref', target: null };
    this.refs.set(ref, node);
    if (!match[1]) {
      node.target = this.compile(this.root, '');
      return node;
    }
    const defs = this.root[match[1]];
    const target = isObject(defs) ? defs[match[2]] : undefined;
    if (target === undefined)
      throw new UnsupportedSchemaError(`no definition for '${ref}'`, join(path, '$ref'));
    node.target = this.compile(target, `${match[1]}.${match[2]}`);
    return node;
  }
}

function anyScalar(): SchemaNode {
  return {
    kind: 'anyOf',
    options: [
      { kind: 'string', min: 0, max: Infinity },
      { kind: 'number', integer: false, min: -Infinity, max: Infinity },
      { kind: 'literal', texts: ['true', 'false', 'null'] },
    ],
  };
}

function count(schema: Json, key: string, fallback: number, path: string): number {
  const value = schema[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new UnsupportedSchemaError(`'${key}' must be a non-negative integer`, join(path, key));
  return value;
}

function bound(schema: Json, key: string, path: string): number | undefined {
  const value = schema[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new UnsupportedSchemaError(`'${key}' must be a number`, join(path, key));
  return value;
}

/**
 * Bounds are supported on integers (decoding keeps every prefix able to end inside them); a `number` may only carry
 * bounds that are integers too, which are applied to its integer form — a bounded number is decoded as an integer.
 */
function number(schema: Json, integer: boolean, path: string): SchemaNode {
  const lo = bound(schema, 'minimum', path);
  const hi = bound(schema, 'maximum', path);
  const xlo = bound(schema, 'exclusiveMinimum', path);
  const xhi = bound(schema, 'exclusiveMaximum', path);
  const min = Math.max(
    lo === undefined ? -Infinity : Math.ceil(lo),
    xlo === undefined ? -Infinity : Math.floor(xlo) + 1,
  );
  const max = Math.min(
    hi === undefined ? Infinity : Math.floor(hi),
    xhi === undefined ? Infinity : Math.ceil(xhi) - 1,
  );
  if (min > max) throw new UnsupportedSchemaError('the bounds leave no integer', join(path, 'minimum'));
  const bounded = min !== -Infinity || max !== Infinity;
  return { kind: 'number', integer: integer || bounded, min, max };
}

/** Compiles a JSON schema (the `schema` of `response_format.json_schema`, a function's `parameters`). */
export function compileJsonSchema(schema: unknown): SchemaNode {
  if (!isObject(schema)) throw new UnsupportedSchemaError('the schema must be an object', '');
  return new Compiler(schema).compile(schema, '');
}

/** Follows references to the node a value is decoded with. */
export function deref(node: SchemaNode): SchemaNode {
  let current = node;
  for (let guard = 0; current.kind === 'ref'; guard++) {
    if (!current.target || guard > 64)
      throw new UnsupportedSchemaError('a reference does not resolve', '$ref');
    current = current.target;
  }
  return current;
}
