// Shared by the k6 scripts: configuration from the environment, JWTs signed here (HS256 with
// k6/crypto, as the gateway verifies them), and the admin calls that give each run its own
// rooms, sections and students, so runs never depend on or damage the seed data.
import http from 'k6/http';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { check, fail } from 'k6';

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8080').replace(/\/$/, '');
// The development default; pass the deployment's own with -e JWT_SECRET=…
export const JWT_SECRET = __ENV.JWT_SECRET || 'dev-secret-change-me';
/** A tag unique to this run: every name it creates carries it. */
export const RUN = __ENV.RUN_ID || `k6${Date.now().toString(36)}`;
// When the gateway checks them (JWT_ISSUER / JWT_AUDIENCE there), pass the same values here.
const JWT_ISSUER = __ENV.JWT_ISSUER || '';
const JWT_AUDIENCE = __ENV.JWT_AUDIENCE || '';
// The gateway refuses a token that lives longer than its JWT_MAX_LIFETIME_SECONDS (1 day by
// default): pass the same value when it is set lower than an hour.
const JWT_MAX_LIFETIME = Number(__ENV.JWT_MAX_LIFETIME_SECONDS) > 0 ? Number(__ENV.JWT_MAX_LIFETIME_SECONDS) : Infinity;

const b64 = (value) => encoding.b64encode(value, 'rawurl');

export function token(sub, role, lifetimeSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const ttlSeconds = Math.min(lifetimeSeconds, JWT_MAX_LIFETIME);
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = { sub, role, iat: now, exp: now + ttlSeconds };
  if (JWT_ISSUER) claims.iss = JWT_ISSUER;
  if (JWT_AUDIENCE) claims.aud = JWT_AUDIENCE;
  const payload = b64(JSON.stringify(claims));
  const signature = crypto.hmac('sha256', JWT_SECRET, `${header}.${payload}`, 'base64rawurl');
  return `${header}.${payload}.${signature}`;
}

export function params(tokenValue, extra = {}) {
  const headers = { 'Content-Type': 'application/json', ...(extra.headers || {}) };
  if (tokenValue) headers.Authorization = `Bearer ${tokenValue}`;
  return { ...extra, headers };
}

/** `YYYY-MM-DD`, `days` from today (UTC). */
export function isoDay(days) {
  return new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
}

const admin = () => token(`${RUN}-admin`, 'admin');

export function createRoom(name, totalQuantity, openDays = 60) {
  const response = http.post(
    `${BASE_URL}/api/admin/rooms`,
    JSON.stringify({ name: `${RUN} ${name}`, type: 'k6', total_quantity: totalQuantity, open_days: openDays }),
    params(admin(), { tags: { name: 'admin create room' } }),
  );
  if (response.status !== 201) fail(`room not created: ${response.status} ${response.body}`);
  return response.json('id');
}

export function createSection(code, capacity, schedule, term = '1-2025') {
  const response = http.post(
    `${BASE_URL}/api/admin/sections`,
    JSON.stringify({ code: `${RUN}-${code}`, course: `${RUN}-${code}`, term, capacity, schedule }),
    params(admin(), { tags: { name: 'admin create section' } }),
  );
  if (response.status !== 201) fail(`section not created: ${response.status} ${response.body}`);
  return response.json('code');
}

export function createStudents(count, prefix = 'S') {
  const ids = [];
  const requests = [];
  for (let i = 0; i < count; i++) {
    const id = `${RUN}${prefix}${i}`.slice(0, 64);
    ids.push(id);
    requests.push({
      method: 'POST',
      url: `${BASE_URL}/api/admin/students`,
      body: JSON.stringify({ id, name: id, email: `${id.toLowerCase()}@k6.cupo.test` }),
      params: params(admin(), { tags: { name: 'admin create student' } }),
    });
  }
  // In slices, so a large run does not open thousands of connections at once.
  for (let i = 0; i < requests.length; i += 50) {
    for (const response of http.batch(requests.slice(i, i + 50))) {
      if (response.status !== 201) fail(`student not created: ${response.status} ${response.body}`);
    }
  }
  return ids;
}

/** Polls an enrollment request until it is completed or failed (or `maxSeconds` pass). */
export function pollRequest(statusUrl, tokenValue, sleepFn, maxSeconds = 30) {
  const deadline = Date.now() + maxSeconds * 1000;
  let body = { status: 'queued' };
  while (Date.now() < deadline) {
    const response = http.get(`${BASE_URL}${statusUrl}`, params(tokenValue, { tags: { name: 'GET /api/enrollments/requests/:id' } }));
    check(response, { 'request status readable': (r) => r.status === 200 });
    body = response.json();
    if (body.status === 'completed' || body.status === 'failed') return body;
    sleepFn(0.2);
  }
  return body;
}

/** Waits until a wall-clock instant, so many VUs fire together. */
export function waitUntil(epochMs, sleepFn) {
  const wait = epochMs - Date.now();
  if (wait > 0) sleepFn(wait / 1000);
}
