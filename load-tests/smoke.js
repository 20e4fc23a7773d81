// k6 smoke test: one pass over the public API as the contract describes it, against a
// running system. Not a load test; it fails on the first broken path.
//   k6 run -e BASE_URL=http://localhost:8080 -e GUEST_TOKEN=… -e STUDENT_TOKEN=… load-tests/smoke.js
// Tokens: `make token SUB=guest-1 ROLE=guest`, `make token SUB=RA0001 ROLE=student`.
import http from 'k6/http';
import { check, fail, sleep } from 'k6';

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ['rate==1'], http_req_duration: ['p(95)<1500'] },
};

const BASE = __ENV.BASE_URL || 'http://localhost:8080';
const auth = (token) => ({ headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
const isoDay = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

export default function () {
  const guest = __ENV.GUEST_TOKEN || fail('GUEST_TOKEN is required');
  const student = __ENV.STUDENT_TOKEN || fail('STUDENT_TOKEN is required');

  check(http.get(`${BASE}/healthz`), { 'gateway alive': (r) => r.status === 200 });
  const rooms = http.get(`${BASE}/api/rooms`);
  check(rooms, { 'rooms listed': (r) => r.status === 200 && r.json().length > 0 });

  const offset = 20 + Math.floor(Math.random() * 8);
  const booking = http.post(
    `${BASE}/api/bookings`,
    JSON.stringify({ room_id: 2, check_in: isoDay(offset), check_out: isoDay(offset + 1) }),
    auth(guest),
  );
  check(booking, { 'booking answered 201 or 409': (r) => r.status === 201 || r.status === 409 });

  const sections = http.get(`${BASE}/api/sections?term=1-2025`);
  check(sections, { 'sections listed': (r) => r.status === 200 && r.json().length > 0 });

  const enrollment = http.post(
    `${BASE}/api/enrollments`,
    JSON.stringify({ term: '1-2025', sections: ['G-HUM110-A'] }),
    auth(student),
  );
  check(enrollment, { 'enrollment accepted': (r) => r.status === 202 });
  if (enrollment.status !== 202) return;
  const statusUrl = `${BASE}${enrollment.json('status_url')}`;
  let status = 'queued';
  for (let i = 0; i < 50 && (status === 'queued' || status === 'processing'); i++) {
    sleep(0.2);
    status = http.get(statusUrl, auth(student)).json('status');
  }
  check(status, { 'enrollment reached an outcome': (s) => s === 'completed' || s === 'failed' });
}
