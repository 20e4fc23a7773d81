import {
  context,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type postgres from 'postgres';

/** The API's no-op provider: what the global provider delegates to until telemetry starts. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether the process has started OpenTelemetry (service-kit's startTelemetry). */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() !== NOOP_PROVIDER : true;
}

const tracer = () => trace.getTracer('@cupo/database');

/** Where the spans say the queries went. */
export interface TracedPoolInfo {
  database: string;
  host?: string;
  port?: number;
}

/** The slice of porsager's Query the wrapper touches. */
interface QueryLike {
  strings: readonly string[] | string;
  executed: boolean;
  handle: () => Promise<void>;
  then: Promise<unknown>['then'];
}

const isQuery = (value: unknown): value is QueryLike =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as QueryLike).handle === 'function' &&
  'strings' in value &&
  'executed' in value;

/** The statement's text with `$n` where the values go (the values themselves are never recorded). */
function statementOf(query: QueryLike): string {
  const text = typeof query.strings === 'string' ? query.strings : query.strings.reduce((all, part, i) => `${all}$${i}${part}`);
  return text.replace(/\s+/g, ' ').trim().slice(0, 2_000);
}

/** A recording span is active: queries outside a traced unit of work (background loops) make none. */
function recordingParent(ctx: Context): boolean {
  return trace.getSpan(ctx)?.isRecording() === true;
}

/**
 * porsager/postgres has no OpenTelemetry instrumentation, so the pool is wrapped: every query
 * run inside a traced unit of work becomes a client span (`SELECT`, `INSERT`, …, with the
 * statement's text but never its values) from when it is sent to when its result is in, and
 * `sql.begin`/`savepoint` a `transaction` span that the transaction's queries are children of.
 * A query object that is only a fragment of another query is never sent, so it makes no span.
 */
export function tracePool<S extends postgres.Sql | postgres.TransactionSql>(sql: S, info: TracedPoolInfo): S {
  const attributes: Attributes = {
    'db.system.name': 'postgresql',
    'db.system': 'postgresql',
    'db.namespace': info.database,
    ...(info.host ? { 'server.address': info.host } : {}),
    ...(info.port ? { 'server.port': info.port } : {}),
  };

  const instrument = (query: unknown): unknown => {
    if (!isQuery(query)) return query;
    const parent = context.active();
    if (!recordingParent(parent)) return query;
    const handle = query.handle;
    query.handle = function (this: QueryLike) {
      if (!this.executed) {
        const statement = statementOf(this);
        const operation = /^\s*(\w+)/.exec(statement)?.[1]?.toUpperCase() ?? 'QUERY';
        const span = tracer().startSpan(
          `${operation} ${info.database}`,
          { kind: SpanKind.CLIENT, attributes: { ...attributes, 'db.operation.name': operation, 'db.query.text': statement } },
          parent,
        );
        // Promise's own then: Query's would run the query again. Its species is Promise.
        Promise.prototype.then.call(
          this,
          (rows: unknown) => {
            const count = (rows as { count?: unknown } | undefined)?.count;
            if (typeof count === 'number') span.setAttribute('db.response.returned_rows', count);
            span.end();
          },
          (error: unknown) => fail(span, error),
        );
      }
      return handle.call(this);
    };
    return query;
  };

  /** `begin(options?, fn)` and `savepoint(name?, fn)`: the callback runs in a transaction span. */
  const transaction =
    (run: (...args: unknown[]) => Promise<unknown>, name: string) =>
    (...args: unknown[]): Promise<unknown> => {
      const parent = context.active();
      const callback = args[args.length - 1];
      if (typeof callback !== 'function' || !recordingParent(parent)) return run(...args);
      const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
      const inside = trace.setSpan(parent, span);
      args[args.length - 1] = (tx: postgres.TransactionSql) =>
        context.with(inside, () => (callback as (tx: unknown) => unknown)(tracePool(tx, info)));
      return run(...args).then(
        (result) => {
          span.end();
          return result;
        },
        (error: unknown) => {
          fail(span, error);
          throw error;
        },
      );
    };

  return new Proxy(sql, {
    apply: (target, thisArg, args) => instrument(Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)),
    get: (target, property) => {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      switch (property) {
        case 'begin':
          return transaction(method as (...a: unknown[]) => Promise<unknown>, 'transaction');
        case 'savepoint':
          return transaction(method as (...a: unknown[]) => Promise<unknown>, 'savepoint');
        case 'unsafe':
        case 'file':
          return (...args: unknown[]) => instrument(method(...args));
        case 'reserve':
          return async (...args: unknown[]) => tracePool((await method(...args)) as postgres.Sql, info);
        default:
          return value;
      }
    },
  }) as S;
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') span.setAttribute('db.response.status_code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}
