// One of everything, for CI after a deploy: fails on the first broken path.
//   k6 run -e BASE_URL=http://localhost:8080 -e JWT_SECRET=… load-tests/smoke.js
import http from 'k6/http';
import { check, fail, sleep } from 'k6';
import { BASE_URL, RUN, createRoom, createSection, createStudents, isoDay, params, pollRequest, token } from './lib/cupo.js';

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ['rate==1'], http_req_duration: ['p(95)<1500'] },
};

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }));

// Requests whose URL carries an id are grouped under their route (one series each in Prometheus).
const named = (name) => ({ tags: { name } });

export function setup() {
  return {
    roomId: createRoom('smoke', 2),
    section: createSection('SMOKE', 5, [{ day: 'fri', start: '18:00', end: '19:00' }]),
    student: createStudents(1, 'SM')[0],
  };
}

export default function (data) {
  const guest = token(`${RUN}-guest`, 'guest');
  const student = token(data.student, 'student');

  check(http.get(`${BASE_URL}/healthz`), { 'gateway alive': (r) => r.status === 200 });
  check(
    http.get(
      `${BASE_URL}/api/rooms/${data.roomId}/availability?from=${isoDay(1)}&to=${isoDay(3)}`,
      named('GET /api/rooms/:id/availability'),
    ),
    {
      'availability 200': (r) => r.status === 200 && r.json().length === 2,
    },
  );

  const booking = http.post(
    `${BASE_URL}/api/bookings`,
    JSON.stringify({ room_id: data.roomId, check_in: isoDay(1), check_out: isoDay(3) }),
    params(guest, { headers: { 'Idempotency-Key': `${RUN}-smoke` }, ...named('POST /api/bookings') }),
  );
  if (!check(booking, { 'booking 201': (r) => r.status === 201 })) fail(`booking: ${booking.status} ${booking.body}`);
  check(http.get(`${BASE_URL}/api/bookings/${booking.json('id')}`, params(guest, named('GET /api/bookings/:id'))), {
    'booking readable': (r) => r.json('status') === 'confirmed',
  });
  check(http.post(`${BASE_URL}/api/bookings/${booking.json('id')}/cancel`, null, params(guest, named('POST /api/bookings/:id/cancel'))), {
    'cancel 200': (r) => r.json('status') === 'cancelled',
  });

  check(http.get(`${BASE_URL}/api/terms`), { 'terms 200': (r) => r.status === 200 });
  const enrollment = http.post(
    `${BASE_URL}/api/enrollments`,
    JSON.stringify({ term: '1-2025', sections: [data.section] }),
    params(student, named('POST /api/enrollments')),
  );
  if (!check(enrollment, { 'enrollment 202': (r) => r.status === 202 })) fail(`enrollment: ${enrollment.status} ${enrollment.body}`);
  const result = pollRequest(enrollment.json('status_url'), student, sleep);
  check(result, { 'enrollment completed': (r) => r.status === 'completed' });
  const mine = http.get(
    `${BASE_URL}/api/students/${data.student}/enrollments`,
    params(student, named('GET /api/students/:id/enrollments')),
  );
  check(mine, { 'enrollment listed': (r) => r.status === 200 && r.json().length === 1 });
  check(http.del(`${BASE_URL}/api/enrollments/${mine.json('0.id')}`, null, params(student, named('DELETE /api/enrollments/:id'))), {
    'drop 200': (r) => r.status === 200,
  });
}
