import fc from 'fast-check';
import { daysFromToday, isoDateOf } from '@cupo/contracts';

/**
 * Requests generated from openapi.yaml with fast-check: for every operation, values drawn
 * from its schemas (types, patterns, formats, lengths, ranges, enums, required fields),
 * steered towards real data (rooms, bookings, sections, students, ids seen in earlier
 * answers) so valid requests reach deep code, and mutations that the contract says must be
 * refused (a dropped required field, a wrong type, an extra field, a value past a bound, a
 * control character, malformed JSON or encoding, a garbage path id, a missing, expired or
 * foreign token, the wrong role, a bad Idempotency-Key, another user's resource).
 *
 * A generated request is a plan: data only, with references into the pools by index, so a
 * seed always generates the same plans whatever the system answered (fast-check's replay);
 * `resolve` turns a plan into a concrete request against the pools as they are then.
 */

/** A JSON Schema of openapi.yaml, `$ref`s inlined: the keywords the fuzzer reads. */
export interface Schema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

/** openapi.yaml as parsed: read only through `operationsOf`, which inlines its `$ref`s. */
export type OpenApiDocument = Record<string, unknown>;

/** One operation of the document, `$ref`s inlined. */
interface OpenApiOperation {
  parameters?: Param[];
  requestBody?: { required?: boolean; content?: Record<string, { schema: Schema }> };
  security?: unknown[];
}

interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  key: string;
  method: string;
  path: string;
  params: Param[];
  body?: { schema: Schema; required: boolean };
  secured: boolean;
  adminOnly: boolean;
}

// --- openapi.yaml -----------------------------------------------------------------------

/** Every operation under /api, with `$ref`s inlined (siblings of a `$ref` win, as in OpenAPI 3.1). */
export function operationsOf(document: OpenApiDocument): Operation[] {
  type Node = Record<string, unknown>;
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (!node || typeof node !== 'object') return node;
    const { $ref, ...rest } = node as Node;
    const base = $ref
      ? resolve(
          ($ref as string)
            .slice(2)
            .split('/')
            .reduce<unknown>((n, k: string) => (n as Node)[k], document),
        )
      : {};
    return { ...(base as Node), ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, resolve(v)])) };
  };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, Node>)) {
    if (!path.startsWith('/api/')) continue;
    for (const method of ['get', 'post', 'put', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const resolved = resolve(op) as OpenApiOperation;
      const json = resolved.requestBody?.content?.['application/json'];
      const security = resolved.security ?? document.security;
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: (resolved.parameters ?? []) as Param[],
        ...(json ? { body: { schema: json.schema, required: resolved.requestBody!.required === true } } : {}),
        secured: Array.isArray(security) && security.length > 0,
        adminOnly: /^\/api\/(admin|ops)\//.test(path),
      });
    }
  }
  return operations;
}

// --- plans ------------------------------------------------------------------------------

/** A reference into a pool of known values, resolved when the request is sent. */
export interface PoolRef {
  $pool: PoolName;
  i: number;
}
export type PoolName =
  | 'rooms'
  | 'bookings'
  | 'requests'
  | 'enrollments'
  | 'queries'
  | 'tasks'
  | 'sections'
  | 'students'
  | 'users'
  | 'terms'
  | 'breakers'
  | 'idemEntries';

export type Role = 'guest' | 'student' | 'admin';
export type TokenKind = 'valid' | 'none' | 'expired' | 'foreign-secret' | 'alg-none' | 'no-exp' | 'too-long' | 'garbage';

export interface Plan {
  op: string;
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  /** Values that must be sent as they are (already encoded, possibly garbage). */
  rawPath: Record<string, string>;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; text: string } | { kind: 'none' };
  encoding: 'identity' | 'gzip' | 'gzip-truncated' | 'br-garbage' | 'unknown';
  idempotencyKey?: string;
  token: { kind: TokenKind; role: Role; user: number };
  /** Why the contract says this request must be refused; undefined when it may succeed. */
  mustRefuse?: string;
}

const POOL_BY_PATH_PARAM: Record<string, PoolName> = {
  '/api/rooms/{id}': 'rooms',
  '/api/rooms/{id}/availability': 'rooms',
  '/api/bookings/{id}': 'bookings',
  '/api/bookings/{id}/cancel': 'bookings',
  '/api/enrollments/requests/{id}': 'requests',
  '/api/enrollments/{id}': 'enrollments',
  '/api/queries/{id}': 'queries',
  '/api/admin/tasks/{id}': 'tasks',
  '/api/students/{id}/enrollments': 'students',
  '/api/sections/{code}': 'sections',
  '/api/ops/circuit-breakers/{name}/reset': 'breakers',
  '/api/ops/idempotency/{key}': 'idemEntries',
};
const POOL_BY_FIELD: Record<string, PoolName> = {
  room_id: 'rooms',
  sections: 'sections',
  section: 'sections',
  term: 'terms',
  user_id: 'users',
  parent_id: 'tasks',
};
const DATE_FIELDS = new Set(['check_in', 'check_out', 'from', 'to']);

const poolRef = (pool: PoolName): fc.Arbitrary<PoolRef> => fc.nat({ max: 1_000 }).map((i) => ({ $pool: pool, i }));

/** `YYYY-MM-DD`, `days` from today (UTC). */
export function isoDay(days: number): string {
  return daysFromToday(days);
}

/** Dates are drawn as offsets from today (resolved when sent), so a plan means the same on any day. */
const nearDate = fc.integer({ min: -3, max: 40 }).map((days) => ({ $day: days }));

/**
 * A stay or a window (check_in/check_out, from/to) is mostly a plausible one: a start near
 * today and an end 1 to 30 nights later, sometimes just past a bound — so most bookings and
 * reports get past validation and reach the services.
 */
function withStays(record: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const stay = fc.tuple(
    fc.integer({ min: -1, max: 35 }),
    fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 32 }) }),
  );
  return fc.tuple(record, stay, fc.nat({ max: 4 })).map(([value, [start, nights], keep]) => {
    if (keep === 0) return value;
    for (const [from, to] of [
      ['check_in', 'check_out'],
      ['from', 'to'],
    ] as const) {
      if (from in value && to in value) return { ...value, [from]: { $day: start }, [to]: { $day: start + nights } };
    }
    return value;
  });
}

const CONTROL = fc.constantFrom('\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u009f', '\n', '\t');

function safeString(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc
    .string({
      minLength,
      maxLength: Math.min(maxLength, 80),
      unit: fc.oneof(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 -_.'), fc.constantFrom('é', 'ß', '王', '😀', 'Ω')),
    })
    .filter((s) => s.trim().length >= minLength);
}

/** A value valid for `schema`; near real data where the field name says what it is. */
export function valueOf(schema: Schema, field?: string): fc.Arbitrary<unknown> {
  const schemaBased = fromSchema(schema, field);
  const pool = field ? POOL_BY_FIELD[field] : undefined;
  if (field && DATE_FIELDS.has(field)) return fc.oneof({ weight: 4, arbitrary: nearDate }, { weight: 1, arbitrary: schemaBased });
  if (pool && schema.type !== 'array') return fc.oneof({ weight: 4, arbitrary: poolRef(pool) }, { weight: 1, arbitrary: schemaBased });
  if (pool && schema.type === 'array') {
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc.uniqueArray(poolRef(pool), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 5, 4),
          selector: (r) => r.i % 8,
        }),
      },
      { weight: 1, arbitrary: schemaBased },
    );
  }
  return schemaBased;
}

function fromSchema(schema: Schema, field?: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.oneOf) return fc.oneof(...(schema.oneOf as Schema[]).map((s) => valueOf(s, field)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer': {
      const min = schema.minimum ?? -1_000;
      const max = Math.min(schema.maximum ?? 1_000_000, 2_147_483_647);
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max), fc.integer({ min, max: Math.min(max, min + 40) }));
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = valueOf(schema.items ?? {}, field);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) };
      return schema.uniqueItems
        ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) })
        : fc.array(items, constraints);
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set<string>(schema.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, prop] of Object.entries(properties)) record[name] = valueOf(prop, name);
      return withStays(fc.record(record, { requiredKeys: [...required].filter((k) => k in properties) }));
    }
    case 'string':
    default: {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date')
        return fc.oneof(
          nearDate,
          fc.date({ min: new Date('2000-01-01'), max: new Date('2100-12-31'), noInvalidDate: true }).map(isoDateOf),
        );
      if (schema.format === 'email') {
        return fc
          .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,20}[a-z0-9]$/), fc.constantFrom('example.com', 'uni.test', 'cupo.example.org'))
          .filter(([local]) => !local.includes('..'))
          .map(([local, domain]) => `${local}@${domain}`);
      }
      const minLength = schema.minLength ?? 0;
      const maxLength = schema.maxLength ?? 64;
      if (schema.pattern && !/\\u0000/.test(schema.pattern)) {
        return fc.stringMatching(new RegExp(schema.pattern, 'u')).filter((s) => s.length >= minLength && s.length <= maxLength);
      }
      return safeString(minLength, maxLength);
    }
  }
}

// --- mutations --------------------------------------------------------------------------

type JsonPath = (string | number)[];

/** Every (path, schema) in a body value: object properties and array items, recursively. */
function fieldsOf(value: unknown, schema: Schema, at: JsonPath = []): { path: JsonPath; schema: Schema }[] {
  const found: { path: JsonPath; schema: Schema }[] = [];
  if (schema.oneOf && value && typeof value === 'object') {
    const branch = (schema.oneOf as Schema[]).find((s) => s.properties?.type?.const === (value as Record<string, unknown>).type);
    return branch ? fieldsOf(value, branch, at) : found;
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => {
      found.push({ path: [...at, i], schema: schema.items! });
      found.push(...fieldsOf(item, schema.items!, [...at, i]));
    });
  } else if (value && typeof value === 'object' && !('$pool' in value) && !('$day' in value) && schema.properties) {
    for (const [name, prop] of Object.entries(schema.properties as Record<string, Schema>)) {
      if (name in (value as Record<string, unknown>)) {
        found.push({ path: [...at, name], schema: prop });
        found.push(...fieldsOf((value as Record<string, unknown>)[name], prop, [...at, name]));
      }
    }
  }
  return found;
}

function objectsOf(value: unknown, schema: Schema, at: JsonPath = []): { path: JsonPath; schema: Schema }[] {
  const here =
    schema.oneOf && value && typeof value === 'object'
      ? (schema.oneOf as Schema[]).find((s) => s.properties?.type?.const === (value as Record<string, unknown>).type)
      : schema;
  if (!here) return [];
  const found = here.type === 'object' && value && typeof value === 'object' && !Array.isArray(value) ? [{ path: at, schema: here }] : [];
  for (const field of fieldsOf(value, here, at)) {
    const v = field.path.reduce<unknown>((n, k) => (n as Record<string | number, unknown> | undefined)?.[k], { root: value }.root);
    if (field.schema.type === 'object' && v && typeof v === 'object' && !('$pool' in v) && !('$day' in v))
      found.push({ path: field.path, schema: field.schema });
  }
  return found;
}

function setAt(value: unknown, path: JsonPath, replacement: unknown, remove = false): unknown {
  if (path.length === 0) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  const [head, ...rest] = path;
  if (rest.length === 0) {
    if (remove) delete copy[head!];
    else copy[head!] = replacement;
  } else copy[head!] = setAt(copy[head!], rest, replacement, remove);
  return copy;
}

const wrongTypeFor = (schema: Schema): unknown[] => {
  const type = Array.isArray(schema.type) ? schema.type[0] : (schema.type ?? (schema.const !== undefined ? 'string' : undefined));
  switch (type) {
    case 'integer':
    case 'number':
      return ['12', true, null, [], {}, 1.5];
    case 'boolean':
      return ['true', 1, null];
    case 'array':
      return [{}, 'a', 3, null];
    case 'object':
      return [[], 'a', 3, null];
    default:
      return [12, true, null, [], {}];
  }
};

/** A query value the parameter's schema refuses (as the string a query carries), if the schema refuses any. */
function invalidFor(schema: Schema): string | undefined {
  if (schema.enum) return 'not-in-the-enum';
  if (schema.type === 'integer') return schema.maximum !== undefined ? String(schema.maximum + 1) : 'abc';
  if (schema.format === 'date') return '2031-02-30';
  if (schema.format === 'uuid') return 'not-a-uuid';
  const candidates = ['not valid!', '-leading', ...(schema.maxLength !== undefined ? ['x'.repeat(schema.maxLength + 1)] : [])];
  return candidates.find(
    (c) => (schema.pattern && !new RegExp(schema.pattern, 'u').test(c)) || (schema.maxLength !== undefined && c.length > schema.maxLength),
  );
}

/** Path values invalid for every parameter the API has (all its ids, codes, names and keys). */
const GARBAGE_PATH = ['%FF', '%E0%A4%A', '%00', 'a%00b', '%0A', '%', 'x'.repeat(900), '%C0%AF', '%uD800'];
const BAD_IDEMPOTENCY_KEYS = ['', 'has space', 'x'.repeat(256), 'caf\u00e9'];

export function planArbitrary(op: Operation): fc.Arbitrary<Plan> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const takesKey = op.params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key');
  const pathArb = fc.record(
    Object.fromEntries(
      pathParams.map((p) => {
        const pool = POOL_BY_PATH_PARAM[op.path];
        return [
          p.name,
          pool ? fc.oneof({ weight: 5, arbitrary: poolRef(pool) }, { weight: 1, arbitrary: fromSchema(p.schema) }) : fromSchema(p.schema),
        ];
      }),
    ),
  );
  const queryArb = withStays(
    fc.record(Object.fromEntries(queryParams.map((p) => [p.name, valueOf(p.schema, p.name)])), {
      requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name),
    }),
  );
  const bodyArb = op.body ? valueOf(op.body.schema) : fc.constant(undefined);
  const roleArb: fc.Arbitrary<Role> = op.adminOnly
    ? fc.constantFrom<Role>('admin', 'admin', 'admin', 'guest', 'student')
    : op.key === 'POST /api/enrollments'
      ? fc.constantFrom<Role>('student', 'student', 'student', 'guest', 'admin')
      : fc.constantFrom<Role>('guest', 'student', 'admin');
  const base = fc.record({
    path: pathArb,
    query: queryArb,
    body: bodyArb,
    role: roleArb,
    user: fc.nat({ max: 5 }),
    idempotencyKey: takesKey
      ? fc.option(fc.constantFrom('fz-1', 'fz-2', 'fz-3', 'fz-4', 'fz-5', 'fz-6', 'fz-7', 'fz-8'), { nil: undefined, freq: 2 })
      : fc.constant(undefined),
    gzip: fc.boolean(),
  });

  return base.chain((b) => {
    const plan: Plan = {
      op: op.key,
      path: b.path,
      query: b.query,
      rawPath: {},
      body: op.body && b.body !== undefined ? { kind: 'json', value: b.body } : { kind: 'none' },
      encoding: op.body && b.gzip ? 'gzip' : 'identity',
      ...(b.idempotencyKey === undefined ? {} : { idempotencyKey: b.idempotencyKey }),
      token: { kind: op.secured ? 'valid' : (['valid', 'none'] as const)[b.user % 2]!, role: b.role, user: b.user },
    };
    if (op.adminOnly && b.role !== 'admin') plan.mustRefuse = `${b.role} on an admin operation`;
    if (op.key === 'POST /api/enrollments' && b.role !== 'student') plan.mustRefuse = `${b.role} asking for sections (students only)`;
    const mutations: fc.Arbitrary<Plan>[] = [];
    const refuse = (reason: string, change: Partial<Plan>): Plan => ({ ...plan, ...change, mustRefuse: plan.mustRefuse ?? reason });

    if (op.secured) {
      mutations.push(
        fc
          .constantFrom<TokenKind>('none', 'expired', 'foreign-secret', 'alg-none', 'no-exp', 'too-long', 'garbage')
          .map((kind) => refuse(`token: ${kind}`, { token: { ...plan.token, kind } })),
      );
    }
    if (pathParams.length > 0) {
      mutations.push(
        fc
          .tuple(fc.constantFrom(...pathParams.map((p) => p.name)), fc.constantFrom(...GARBAGE_PATH))
          .map(([name, raw]) => refuse(`path ${name} = ${raw.slice(0, 20)}`, { rawPath: { [name]: raw } })),
      );
    }
    const requiredQuery = queryParams.filter((p) => p.required);
    if (requiredQuery.length > 0) {
      mutations.push(
        fc.constantFrom(...requiredQuery.map((p) => p.name)).map((name) => {
          const { [name]: _dropped, ...query } = plan.query;
          return refuse(`query ${name} missing`, { query });
        }),
      );
    }
    if (queryParams.length > 0) {
      mutations.push(
        fc
          .tuple(fc.constantFrom(...queryParams), CONTROL)
          .map(([p, c]) => refuse(`query ${p.name} with a control character`, { query: { ...plan.query, [p.name]: `a${c}b` } })),
      );
      const checked = queryParams.filter((p) => invalidFor(p.schema) !== undefined);
      if (checked.length > 0) {
        mutations.push(
          fc.constantFrom(...checked).map((p) => {
            const bad = invalidFor(p.schema)!;
            return refuse(`query ${p.name} = ${bad.slice(0, 20)}`, { query: { ...plan.query, [p.name]: bad } });
          }),
        );
      }
    }
    if (takesKey) {
      mutations.push(fc.constantFrom(...BAD_IDEMPOTENCY_KEYS).map((key) => refuse('bad Idempotency-Key', { idempotencyKey: key })));
    }
    if (op.body) {
      const bodySchema = op.body.schema;
      mutations.push(
        fc
          .constantFrom('{', '{"room_id":', '[1,2', 'nul', '{"a":1}}', '\u0000', '{"x":"\\ud800"')
          .map((text) => refuse('malformed JSON', { body: { kind: 'raw', text } })),
        fc
          .constantFrom<Plan['encoding']>('gzip-truncated', 'br-garbage', 'unknown')
          .map((encoding) => refuse(`Content-Encoding ${encoding}`, { encoding })),
      );
      if (op.body.required) mutations.push(fc.constant(refuse('body missing', { body: { kind: 'none' } })));
      if (plan.body.kind === 'json') {
        const value = plan.body.value;
        const fields = fieldsOf(value, bodySchema);
        const objects = objectsOf(value, bodySchema);
        const required = objects.flatMap((o) => ((o.schema.required ?? []) as string[]).map((name) => [...o.path, name]));
        if (required.length > 0) {
          mutations.push(
            fc
              .constantFrom(...required)
              .map((path) =>
                refuse(`body ${path.join('.')} missing`, { body: { kind: 'json', value: setAt(value, path, undefined, true) } }),
              ),
          );
        }
        if (fields.length > 0) {
          mutations.push(
            fc
              .constantFrom(...fields)
              .chain((f) =>
                fc
                  .constantFrom(...wrongTypeFor(f.schema))
                  .map((wrong) =>
                    refuse(`body ${f.path.join('.')} of the wrong type`, { body: { kind: 'json', value: setAt(value, f.path, wrong) } }),
                  ),
              ),
          );
        }
        const closed = objects.filter((o) => o.schema.additionalProperties === false);
        if (closed.length > 0) {
          mutations.push(
            fc.constantFrom(...closed).map((o) =>
              refuse(`body ${o.path.join('.') || '(root)'} with an extra field`, {
                body: { kind: 'json', value: setAt(value, [...o.path, 'user_id'], 'intruder') },
              }),
            ),
          );
        }
        const strings = fields.filter((f) => f.schema.type === 'string' && !f.schema.enum && f.schema.const === undefined);
        if (strings.length > 0) {
          mutations.push(
            fc.tuple(fc.constantFrom(...strings), CONTROL).map(([f, c]) =>
              refuse(`body ${f.path.join('.')} with a control character`, {
                body: { kind: 'json', value: setAt(value, f.path, `ab${c}cd`) },
              }),
            ),
          );
        }
        const bounded = fields.filter(
          (f) =>
            f.schema.maxLength !== undefined ||
            f.schema.maximum !== undefined ||
            f.schema.minimum !== undefined ||
            f.schema.maxItems !== undefined,
        );
        if (bounded.length > 0) {
          mutations.push(
            fc.constantFrom(...bounded).map((f) => {
              const s = f.schema;
              const past =
                s.maxLength !== undefined
                  ? 'x'.repeat(s.maxLength + 1)
                  : s.maxItems !== undefined
                    ? Array.from({ length: s.maxItems + 1 }, (_, i) => `X${i}`)
                    : s.maximum !== undefined
                      ? s.maximum + 1
                      : s.minimum! - 1;
              return refuse(`body ${f.path.join('.')} past its bound`, { body: { kind: 'json', value: setAt(value, f.path, past) } });
            }),
          );
        }
      }
    }
    // As many valid plans as mutated ones: the valid ones reach the services and the databases.
    return fc.oneof(
      { weight: Math.max(1, mutations.length), arbitrary: fc.constant(plan) },
      ...mutations.map((arbitrary) => ({ weight: 1, arbitrary })),
    );
  });
}
