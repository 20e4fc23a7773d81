// The user journeys mixed.js and soak.js drive at an arrival rate.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, createRoom, createSection, createStudents, isoDay, params, pollRequest, token } from './cupo.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Rooms with plenty of units and sections with plenty of seats: the mix measures speed, not sell-outs. */
export function setupWorld({ rooms = 40, sections = 24, students = 400 } = {}) {
  const roomIds = [];
  for (let i = 0; i < rooms; i++) roomIds.push(createRoom(`mixed ${i}`, 500, 60));
  const codes = [];
  for (let i = 0; i < sections; i++) {
    const hour = String(7 + Math.floor(i / DAYS.length)).padStart(2, '0');
    codes.push(createSection(`MX${i}`, 2000, [{ day: DAYS[i % DAYS.length], start: `${hour}:00`, end: `${hour}:50` }]));
  }
  return { roomIds, codes, students: createStudents(students, 'M') };
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];

export function browse(world) {
  const rooms = http.get(`${BASE_URL}/api/rooms`, { tags: { name: 'GET /api/rooms' } });
  check(rooms, { 'rooms 200': (r) => r.status === 200 });
  const from = isoDay(1 + Math.floor(Math.random() * 20));
  const availability = http.get(`${BASE_URL}/api/rooms/${pick(world.roomIds)}/availability?from=${from}&to=${isoDay(30)}`, {
    tags: { name: 'GET /api/rooms/:id/availability' },
  });
  check(availability, { 'availability 200': (r) => r.status === 200 });
}

export function bookAndMaybeCancel(world) {
  const guest = token(`guest-${__VU}-${__ITER}`, 'guest');
  const start = 1 + Math.floor(Math.random() * 40);
  const nights = 1 + Math.floor(Math.random() * 3);
  const booking = http.post(
    `${BASE_URL}/api/bookings`,
    JSON.stringify({ room_id: pick(world.roomIds), check_in: isoDay(start), check_out: isoDay(start + nights) }),
    params(guest, { tags: { name: 'POST /api/bookings' } }),
  );
  check(booking, { 'booking 201 or 409': (r) => r.status === 201 || r.status === 409 });
  if (booking.status === 201 && Math.random() < 0.2) {
    const cancel = http.post(
      `${BASE_URL}/api/bookings/${booking.json('id')}/cancel`,
      null,
      params(guest, { tags: { name: 'POST /api/bookings/:id/cancel' } }),
    );
    check(cancel, { 'cancel 200': (r) => r.status === 200 });
  }
}

export function enrollAndPoll(world) {
  const student = pick(world.students);
  const studentToken = token(student, 'student');
  const first = pick(world.codes);
  const second = pick(world.codes);
  const sections = first === second ? [first] : [first, second];
  const sections_ = http.get(`${BASE_URL}/api/sections?term=1-2025`, { tags: { name: 'GET /api/sections' } });
  check(sections_, { 'sections 200': (r) => r.status === 200 });
  const accepted = http.post(
    `${BASE_URL}/api/enrollments`,
    JSON.stringify({ term: '1-2025', sections }),
    params(studentToken, { tags: { name: 'POST /api/enrollments' } }),
  );
  if (!check(accepted, { 'enrollment 202': (r) => r.status === 202 })) return;
  const result = pollRequest(accepted.json('status_url'), studentToken, sleep);
  check(result, { 'enrollment reached an outcome': (r) => r.status === 'completed' || r.status === 'failed' });
}

/** Asks for a report and polls it to its answer. */
export function queryAndPoll(world) {
  const from = isoDay(1 + Math.floor(Math.random() * 10));
  const roster = Math.random() >= 0.5;
  // A roster shows students' names and e-mails: only an admin may ask for one.
  const user = roster ? token(`reporter-admin-${__VU}`, 'admin') : token(`reporter-${__VU}`, 'guest');
  const body = roster
    ? { type: 'section_roster', params: { section: pick(world.codes) } }
    : { type: 'room_search', params: { from, to: isoDay(12), min_available: 1 } };
  const accepted = http.post(`${BASE_URL}/api/queries`, JSON.stringify(body), params(user, { tags: { name: 'POST /api/queries' } }));
  if (!check(accepted, { 'query 202': (r) => r.status === 202 })) return;
  const deadline = Date.now() + 30000;
  let status = 'pending';
  while (status === 'pending' && Date.now() < deadline) {
    sleep(0.2);
    status = http.get(`${BASE_URL}${accepted.json('status_url')}`, params(user, { tags: { name: 'GET /api/queries/:id' } })).json('status');
  }
  check(status, { 'query answered': (s) => s === 'completed' });
}
