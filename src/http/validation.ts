// Schema validation failures as one sentence a client can act on: which field, what was given, what is allowed.
// Fastify's own message joins ajv's terse clauses, and for an `anyOf` field repeats one per alternative
// ("body/input must be string, body/input must NOT have fewer than 1 items, …").
import type { ErrorObject } from 'ajv';

type Schema = Record<string, any>;

/** A count as people write it: 1,500,000. */
const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/** `/input/0/ids` → `input[0].ids`; the root is "the body". */
export function fieldName(instancePath: string, property?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (property !== undefined) parts.push(property);
  let name = '';
  for (const p of parts) name += /^\d+$/.test(p) ? `[${p}]` : name ? `.${p}` : p;
  return name || 'the body';
}

/** What a schema allows, as a noun phrase ("a string", "an array of strings", "a string or an array of integers"). */
export function allowed(schema: Schema | undefined, many = false): string {
  if (!schema || typeof schema !== 'object') return many ? 'values' : 'a value';
  const alternatives: Schema[] | undefined = schema.anyOf ?? schema.oneOf;
  if (alternatives) return orList(alternatives.map((s) => allowed(s, many)));
  if (schema.enum) return `one of ${schema.enum.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  const nouns = types.filter(Boolean).map((t) => noun(t, schema, many));
  if (schema.nullable) nouns.push('null');
  return nouns.length > 0 ? orList(nouns) : many ? 'values' : 'a value';
}

function noun(type: string, schema: Schema, many: boolean): string {
  const [one, several] = (
    {
      string: ['a string', 'strings'],
      integer: ['an integer', 'integers'],
      number: ['a number', 'numbers'],
      boolean: ['true or false', 'booleans'],
      object: ['an object', 'objects'],
      null: ['null', 'nulls'],
    } as Record<string, [string, string]>
  )[type] ?? [`a ${type}`, `${type}s`];
  if (type !== 'array') return many ? several : one;
  const of = schema.items ? ` of ${allowed(schema.items, true)}` : '';
  return `${many ? 'arrays' : 'an array'}${of}`;
}

const orList = (xs: string[]) => (xs.length <= 2 ? xs.join(' or ') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`);

/** What the client sent, briefly (a long string by its length, an array by its size). */
export function given(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value.length === 0) return 'an empty string';
    return value.length <= 40 ? JSON.stringify(value) : `a string of ${plural(characters(value), 'character')}`;
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${plural(value.length, 'item')}`;
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' ? `the number ${value}` : String(value);
}

/** Characters as JSON Schema counts them (code points, as ajv does). */
function characters(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** One sentence for one ajv error (collected with `verbose: true`, so it carries its data and schemas). */
function sentence(e: ErrorObject): string {
  const field = fieldName(e.instancePath);
  const p = e.params as Record<string, any>;
  const data = e.data;
  switch (e.keyword) {
    case 'required':
      return `${fieldName(e.instancePath, p.missingProperty)} is missing: send ${allowed(e.parentSchema?.properties?.[p.missingProperty])}`;
    case 'additionalProperties': {
      const known = Object.keys(e.parentSchema?.properties ?? {});
      return `${field} has an unknown field "${p.additionalProperty}"; the fields it takes are ${known.join(', ')}`;
    }
    case 'type':
    case 'enum':
    case 'anyOf':
    case 'oneOf':
      return `${field} must be ${allowed(e.parentSchema)}; got ${given(data)}`;
    case 'minItems':
      return `${field} is ${given(data)}: send at least ${plural(p.limit, 'item')}`;
    case 'maxItems':
      return `${field} has ${plural((data as unknown[]).length, 'item')}; at most ${count(p.limit)} are allowed in one request: send several requests`;
    case 'minLength':
      return `${field} is ${given(data)}: send at least ${plural(p.limit, 'character')}`;
    case 'maxLength':
      return `${field} has ${plural(characters(data as string), 'character')}; at most ${count(p.limit)} are allowed: shorten or split it`;
    case 'minimum':
    case 'maximum': {
      // Both bounds when the schema has both, so the one sentence says the whole allowed range.
      const { minimum, maximum } = e.parentSchema ?? {};
      if (minimum !== undefined && maximum !== undefined) return `${field} must be ${allowed(e.parentSchema)} from ${count(minimum)} to ${count(maximum)}; got ${given(data)}`;
      return `${field} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${count(p.limit)}; got ${given(data)}`;
    }
    default:
      return `${field} ${e.message ?? 'is invalid'}; got ${given(data)}`;
  }
}

/**
 * The failure to report, and its sentence. For an `anyOf` field (a string, or an array of strings, or …) the
 * branch the value was meant for decides: a limit it broke (too many items, too long) or a nested alternative that
 * failed deeper in; when every branch failed on the value's type, the alternatives are listed.
 */
export function describeValidation(errors: ErrorObject[]): { message: string; param?: string } {
  // The outermost alternative comes last: ajv reports a branch's errors before the anyOf they failed.
  const outer = [...errors].reverse().find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  let chosen = errors[0];
  if (outer) {
    const branches = errors.filter((e) => e !== outer && e.schemaPath.startsWith(`${outer.schemaPath}/`));
    const limit = branches.find((e) => e.keyword !== 'type' && e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
    const nested = branches.find((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && e.instancePath.length > outer.instancePath.length);
    chosen = limit ?? nested ?? outer;
  }
  if (!chosen) return { message: 'the body is invalid' };
  const path = chosen.keyword === 'required' ? `${chosen.instancePath}/${(chosen.params as { missingProperty: string }).missingProperty}` : chosen.instancePath;
  return { message: sentence(chosen), param: path.split('/')[1] || undefined };
}
