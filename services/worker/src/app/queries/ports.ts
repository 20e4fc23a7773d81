import type { QueryRequestBody, QueryView } from '@cupo/contracts';

export interface QueryRecord extends QueryView {
  requested_by: string;
  /** Still pending then, the query ends `failed` (QUERY_DEADLINE_EXCEEDED). */
  deadline_at: string;
}

export type QueryOutcome = { result: unknown } | { error: { code: string; detail: string } };

export interface QueryStore {
  /** Records the query `pending`, due by `deadlineMs` from now, with its outbox message, in one statement. */
  submit(id: string, query: QueryRequestBody, requestedBy: string, requestId: string, deadlineMs: number): Promise<QueryRecord>;
  find(id: string): Promise<QueryRecord | undefined>;
  /** Stores the outcome once: a query already answered is left as it is (false). */
  complete(id: string, outcome: QueryOutcome, ttlSeconds: number): Promise<boolean>;
  /** Ends every pending query past its deadline `failed` with `error`; returns them. */
  failOverdue(error: { code: string; detail: string }, ttlSeconds: number): Promise<{ type: string; created_at: string }[]>;
  purgeExpired(): Promise<number>;
  /**
   * Pending queries whose message went out more than `staleMs` ago are announced again (a
   * message went missing), and the time recorded: at most one more message per query per `staleMs`.
   */
  requeueStale(staleMs: number): Promise<number>;
}

/** Where report data comes from: the owners of the data, asked over RPC. */
export interface ReportSources {
  /** Asks the data's owner; an owner silent for `timeoutMs` is an outage (DependencyUnavailableError). */
  compute(query: QueryRequestBody, options: { requestId: string; timeoutMs: number }): Promise<unknown>;
}

export interface QueryMetrics {
  finished(type: string, status: 'completed' | 'failed', seconds: number): void;
}
