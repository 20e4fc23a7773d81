import type { QueryRequestBody, QueryView } from '@cupo/contracts';

export interface QueryRecord extends QueryView {
  requested_by: string;
}

export interface QueryStore {
  /** Records the query `pending` with its outbox message, in one statement. */
  submit(id: string, query: QueryRequestBody, requestedBy: string, requestId: string): Promise<QueryRecord>;
  find(id: string): Promise<QueryRecord | undefined>;
  /** Stores the outcome once: a query already answered is left as it is (false). */
  complete(id: string, outcome: { result: unknown } | { error: { code: string; detail: string } }, ttlSeconds: number): Promise<boolean>;
  purgeExpired(): Promise<number>;
  /** Pending queries older than `staleMs` are announced again (their message went missing). */
  requeueStale(staleMs: number): Promise<number>;
}

/** Where report data comes from: the owners of the data, asked over RPC. */
export interface ReportSources {
  compute(query: QueryRequestBody, requestId: string): Promise<unknown>;
}

export interface QueryMetrics {
  finished(type: string, status: 'completed' | 'failed', seconds: number): void;
}
