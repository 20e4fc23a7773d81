// The seed's experiment (000): 10 students ask for the same one-seat section at once, then
// poll their requests to the end: one completed, nine failed with SECTION_FULL.
//   k6 run -e BASE_URL=http://localhost:8080 -e JWT_SECRET=… load-tests/enrollment-burst.js
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { BASE_URL, createSection, createStudents, params, pollRequest, token, waitUntil } from './lib/cupo.js';

const STUDENTS = Number(__ENV.STUDENTS || 10);
const completed = new Counter('enrollments_completed');
const full = new Counter('enrollments_section_full');
const other = new Counter('enrollments_other_outcome');
const acceptToTerminal = new Trend('enrollment_accept_to_terminal', true);

export const options = {
  scenarios: {
    burst: { executor: 'per-vu-iterations', vus: STUDENTS, iterations: 1, maxDuration: '90s' },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    'http_req_duration{name:POST /api/enrollments}': ['p(95)<1500'],
    enrollments_completed: ['count==1'],
    enrollments_section_full: [`count==${STUDENTS - 1}`],
    enrollments_other_outcome: ['count==0'],
  },
};

export function setup() {
  const section = createSection('ONE-SEAT', 1, [{ day: 'mon', start: '07:00', end: '08:40' }]);
  const students = createStudents(STUDENTS, 'B');
  return { section, students, startAt: Date.now() + 3000 };
}

export default function (data) {
  const student = data.students[__VU - 1];
  const studentToken = token(student, 'student');
  waitUntil(data.startAt, sleep);
  const started = Date.now();
  const response = http.post(
    `${BASE_URL}/api/enrollments`,
    JSON.stringify({ term: '1-2025', sections: [data.section] }),
    params(studentToken, { tags: { name: 'POST /api/enrollments' } }),
  );
  if (!check(response, { 'accepted (202)': (r) => r.status === 202 })) return;
  const result = pollRequest(response.json('status_url'), studentToken, sleep);
  acceptToTerminal.add(Date.now() - started);
  if (result.status === 'completed') completed.add(1);
  else if (result.error && result.error.code === 'SECTION_FULL') {
    full.add(1);
    check(result, { 'the contract’s detail': (r) => r.error.detail === `Section '${data.section}' has no seats available` });
  } else other.add(1);
}
