import { randomBytes } from 'node:crypto';
import type { IncomingStudent } from '@cupo/contracts';
import { z } from 'zod';
import { ProviderRejectedError, ProviderUnavailableError, type Directory, type ProviderCall } from '../../app/onboarding/ports.js';
import { exchange } from './http.js';

export interface GraphOptions {
  /** e.g. https://graph.microsoft.com (the stand-in in development). */
  baseUrl: string;
  /** e.g. https://login.microsoftonline.com (token endpoint host). */
  loginUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The user principal name's domain: <student id>@<domain>. */
  domain: string;
  licenseSkuId: string;
  timeoutMs: number;
}

/**
 * The directory over Microsoft Graph: client-credentials token, then look the account up by
 * user principal name before creating it (so a retried step, a redelivered message or a
 * re-ingest never creates a second one), then assign the licence.
 */
export class GraphDirectory implements Directory {
  private token: { value: string; expiresAt: number } | undefined;

  constructor(private readonly options: GraphOptions) {}

  async ensureAccount(student: IncomingStudent, call: ProviderCall): Promise<{ upn: string; created: boolean }> {
    const upn = `${student.id.toLowerCase()}@${this.options.domain}`;
    const found = await call('get user', async () => this.request('GET', `/v1.0/users/${encodeURIComponent(upn)}`));
    let user = found.status === 200 ? found.body : undefined;
    let created = false;
    if (found.status === 404) {
      const [firstName, ...rest] = student.name.split(' ');
      const response = await call('create user', () =>
        this.request('POST', '/v1.0/users', {
          accountEnabled: true,
          displayName: student.name,
          givenName: firstName,
          surname: rest.join(' ') || firstName,
          mailNickname: student.id.toLowerCase(),
          userPrincipalName: upn,
          passwordProfile: { forceChangePasswordNextSignIn: true, password: randomBytes(12).toString('base64url') + 'aA1!' },
        }),
      );
      if (response.status === 201) {
        user = response.body;
        created = true;
      } else if (alreadyExists(response)) {
        // Our own earlier POST got there (its answer was lost to a timeout and the request
        // retried, or Graph's lookup had not caught up yet): the account at the UPN we derive
        // for this student is the one we want. Found, not a failure.
        const again = await call('get user', async () => this.request('GET', `/v1.0/users/${encodeURIComponent(upn)}`));
        // Not visible yet (Graph replicates): worth another attempt, not a refusal.
        if (again.status === 404) throw new ProviderUnavailableError(`directory says ${upn} exists but cannot find it yet`);
        if (again.status !== 200) throw new ProviderRejectedError(`directory lookup of ${upn} answered ${again.status}`);
        user = again.body;
      } else {
        throw new ProviderRejectedError(
          `directory refused to create ${upn}: ${JSON.stringify(GraphError.safeParse(response.body).data?.error ?? response.body)}`,
        );
      }
    } else if (found.status !== 200) {
      throw new ProviderRejectedError(`directory lookup of ${upn} answered ${found.status}`);
    }
    const id = GraphUser.safeParse(user).data?.id;
    if (id === undefined) throw new ProviderRejectedError(`directory answered ${upn} without an id`);
    const licensed = await call('assign licence', () =>
      this.request('POST', `/v1.0/users/${id}/assignLicense`, {
        addLicenses: [{ skuId: this.options.licenseSkuId, disabledPlans: [] }],
        removeLicenses: [],
      }),
    );
    if (licensed.status !== 200) throw new ProviderRejectedError(`directory refused the licence for ${upn}: ${licensed.status}`);
    return { upn, created };
  }

  private async request(method: string, path: string, body?: unknown) {
    const token = await this.accessToken();
    return exchange(
      `${this.options.baseUrl}${path}`,
      {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      this.options.timeoutMs,
    );
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 60_000) return this.token.value;
    const { status, body } = await exchange(
      `${this.options.loginUrl}/${this.options.tenantId}/oauth2/v2.0/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
          scope: 'https://graph.microsoft.com/.default',
        }),
      },
      this.options.timeoutMs,
    );
    const token = GraphToken.safeParse(body).data;
    if (status !== 200 || !token) throw new ProviderRejectedError(`directory token refused: ${status}`);
    this.token = { value: token.access_token, expiresAt: Date.now() + token.expires_in * 1000 };
    return this.token.value;
  }
}

const GraphUser = z.object({ id: z.string() });
const GraphToken = z.object({ access_token: z.string(), expires_in: z.coerce.number() });
const GraphError = z.object({ error: z.object({ message: z.unknown() }).partial() });

/** Graph's answer to creating a user whose userPrincipalName is taken. */
function alreadyExists(response: { status: number; body: unknown }): boolean {
  const error = GraphError.safeParse(response.body).data?.error;
  return (
    response.status === 400 &&
    /already exists/i.test(String(error?.message ?? '')) &&
    /userPrincipalName/i.test(String(error?.message ?? ''))
  );
}
