import { z } from 'zod';

import { Rng } from '@tracetune/model';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { sampleConstrained } from './constrained-sampling';
import { compileJsonSchema, UnsupportedSchemaError } from './json-schema';
import { SchemaConstraint } from './schema-constraint';

/**
 * Structured outputs: text sampled from flat logits (any byte equally likely, so only the constraint shapes it) must
 * parse and validate against the schema it was decoded with, on roomy and on tight budgets. Schemas come from zod
 * (z.toJSONSchema), and each zod schema validates what was decoded.
 */
describe('SchemaConstraint', () => {
  const tokenizer = new ByteTokenizer();
  const flat = new Float32Array(tokenizer.vocabSize);

  function generate(constraint: SchemaConstraint, budget: number, seed: number): string {
    const rng = new Rng(seed);
    const tokens: number[] = [];
    for (let used = 0; used < budget; used++) {
      const token = sampleConstrained(
        constraint,
        flat,
        tokenizer,
        { temperature: 1, topP: 1 },
        rng,
        budget - used,
      );
      if (tokenizer.stopTokenIds.includes(token)) break;
      tokens.push(token);
    }
    return tokenizer.decode(tokens);
  }

  /** Decodes with the schema's JSON form, checks the result with the zod schema; returns the parsed values. */
  function decodeAll(schema: z.ZodType, budgets = [60, 200]): unknown[] {
    const node = compileJsonSchema(z.toJSONSchema(schema));
    const out: unknown[] = [];
    for (const budget of budgets) {
      for (let seed = 0; seed < 4; seed++) {
        const text = generate(SchemaConstraint.of(node), budget, seed);
        out.push(schema.parse(JSON.parse(text)));
      }
    }
    return out;
  }

  it('should decode objects with required and optional keys in order', () => {
    const values = decodeAll(z.object({ a: z.boolean(), b: z.boolean().optional(), c: z.null() }).strict());
    for (const v of values) expect(Object.keys(v as object).filter((k) => k !== 'b')).toEqual(['a', 'c']);
  });

  it('should decode arrays within minItems and maxItems', () => {
    decodeAll(z.object({ xs: z.array(z.boolean()).min(2).max(3) }));
  });

  it('should decode enums and consts', () => {
    decodeAll(
      z.object({ e: z.enum(['red', 'green', 'redder']), k: z.literal(7), m: z.enum(['x', 'y']).array() }),
    );
  });

  it('should decode numbers and integers, bounded ones inside their bounds', () => {
    decodeAll(
      z.object({
        n: z.number(),
        i: z.number().int(),
        b: z.number().int().min(-5).max(120),
        p: z.number().min(10),
      }),
    );
  });

  it('should decode strings within minLength and maxLength', () => {
    decodeAll(z.object({ s: z.string(), t: z.string().min(2).max(4) }));
  });

  it('should decode anyOf (nullable) and nested objects', () => {
    decodeAll(
      z.object({
        user: z.object({ name: z.string().max(5), tags: z.array(z.enum(['a', 'b'])).max(2) }),
        nick: z.string().max(3).nullable(),
        either: z.union([z.number().int(), z.boolean()]),
      }),
      [80, 300],
    );
  });

  it('should follow $ref definitions, recursive ones included', () => {
    const tree = {
      type: 'object',
      properties: {
        label: { $ref: '#/$defs/label' },
        kids: { type: 'array', items: { $ref: '#' }, maxItems: 2 },
      },
      required: ['label', 'kids'],
      additionalProperties: false,
      $defs: { label: { type: 'string', maxLength: 3 } },
    };
    const node = compileJsonSchema(tree);
    for (let seed = 0; seed < 4; seed++) {
      const value = JSON.parse(generate(SchemaConstraint.of(node), 120, seed)) as {
        label: string;
        kids: unknown[];
      };
      expect(value.label.length).toBeLessThanOrEqual(3);
      expect(Array.isArray(value.kids)).toBe(true);
    }
  });

  it('should wrap a value in fixed text (tool calls)', () => {
    const node = compileJsonSchema({
      type: 'object',
      properties: { x: { type: 'boolean' } },
      required: ['x'],
    });
    const text = generate(SchemaConstraint.of(node, '<tool_call>\n', '\n</tool_call>'), 40, 1);
    expect(text).toMatch(/^<tool_call>\n\{"x":(true|false)\}\n<\/tool_call>$/);
  });

  it('should refuse unsupported keywords, naming where they are', () => {
    const cases: [unknown, string][] = [
      [{ type: 'object', properties: { e: { type: 'string', format: 'email' } } }, 'properties.e.format'],
      [{ type: 'object', properties: { e: { type: 'string', pattern: '^a' } } }, 'properties.e.pattern'],
      [{ type: 'object', properties: { o: { oneOf: [{ type: 'string' }] } } }, 'properties.o.oneOf'],
      [{ type: 'object', properties: { a: { type: 'array', prefixItems: [] } } }, 'properties.a.prefixItems'],
      [{ type: 'object', properties: { n: { type: 'number', multipleOf: 2 } } }, 'properties.n.multipleOf'],
      [{ type: 'object', properties: { r: { $ref: 'http://x/y' } } }, 'properties.r.$ref'],
      [{ type: 'tuple' }, 'type'],
    ];
    for (const [schema, path] of cases) {
      let error: unknown;
      try {
        compileJsonSchema(schema);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnsupportedSchemaError);
      expect((error as UnsupportedSchemaError).path).toBe(path);
    }
  });
});
