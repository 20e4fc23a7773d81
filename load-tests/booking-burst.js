// The seed's experiment (002): 50 guests book the same nights of a room with one unit, at
// the same instant. Exactly one booking is confirmed (201); the other 49 are told the room is
// taken (409). Nothing else is acceptable.
//   k6 run -e BASE_URL=http://localhost:8080 -e JWT_SECRET=… load-tests/booking-burst.js
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, RUN, createRoom, isoDay, params, token, waitUntil } from './lib/cupo.js';

const GUESTS = Number(__ENV.GUESTS || 50);
const confirmed = new Counter('bookings_confirmed');
const conflicts = new Counter('bookings_conflict');
const unexpected = new Counter('bookings_unexpected');

export const options = {
  scenarios: {
    burst: { executor: 'per-vu-iterations', vus: GUESTS, iterations: 1, maxDuration: '60s' },
  },
  thresholds: {
    http_req_duration: ['p(95)<1500'],
    'http_req_duration{name:POST /api/bookings}': ['p(95)<1500'],
    http_req_failed: ['rate==0'],
    bookings_confirmed: ['count==1'],
    bookings_conflict: [`count==${GUESTS - 1}`],
    bookings_unexpected: ['count==0'],
  },
};

// 409 is this experiment's expected answer for all but one guest, not a failure.
http.setResponseCallback(http.expectedStatuses(201, 409));

export function setup() {
  const roomId = createRoom('burst single', 1);
  // Everyone fires at the same wall-clock instant, after the VUs have started.
  return { roomId, checkIn: isoDay(5), checkOut: isoDay(7), startAt: Date.now() + 3000 };
}

export default function (data) {
  const guest = token(`${RUN}-guest-${__VU}`, 'guest');
  waitUntil(data.startAt, sleep);
  const response = http.post(
    `${BASE_URL}/api/bookings`,
    JSON.stringify({ room_id: data.roomId, check_in: data.checkIn, check_out: data.checkOut }),
    params(guest, { tags: { name: 'POST /api/bookings' } }),
  );
  if (response.status === 201) confirmed.add(1);
  else if (response.status === 409) conflicts.add(1);
  else unexpected.add(1);
  check(response, {
    '201 or 409': (r) => r.status === 201 || r.status === 409,
    '409 says ROOM_UNAVAILABLE': (r) => r.status !== 409 || r.json('code') === 'ROOM_UNAVAILABLE',
  });
}
