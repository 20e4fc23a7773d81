// A realistic mix at an arrival rate that ramps to a target: browsing rooms and availability,
// booking (a fifth cancelled again), enrolling and polling the request, asking for reports
// and polling them. Thresholds are seed
// 001's: ≥ 100 requests/s, p95 < 1 s, p99 < 2 s, errors < 1 %.
//   k6 run -e BASE_URL=http://localhost:8080 -e JWT_SECRET=… -e TARGET_RATE=60 load-tests/mixed.js
// TARGET_RATE is journeys per second; a journey is 2–5 requests, so 60/s is ~150 requests/s.
import http from 'k6/http';
import { browse, bookAndMaybeCancel, enrollAndPoll, queryAndPoll, setupWorld } from './lib/journeys.js';

const TARGET = Number(__ENV.TARGET_RATE || 60);
const RAMP = __ENV.RAMP || '30s';
const HOLD = __ENV.HOLD || '2m';

const ramping = (share, exec) => ({
  executor: 'ramping-arrival-rate',
  exec,
  startRate: 1,
  timeUnit: '1s',
  preAllocatedVUs: Math.max(10, Math.ceil(TARGET * share * 2)),
  maxVUs: Math.max(50, Math.ceil(TARGET * share * 10)),
  stages: [
    { target: Math.max(1, Math.round(TARGET * share)), duration: RAMP },
    { target: Math.max(1, Math.round(TARGET * share)), duration: HOLD },
  ],
});

export const options = {
  setupTimeout: '5m',
  scenarios: {
    browse: ramping(0.45, 'browseJourney'),
    book: ramping(0.3, 'bookJourney'),
    enroll: ramping(0.15, 'enrollJourney'),
    query: ramping(0.1, 'queryJourney'),
  },
  thresholds: {
    http_reqs: ['rate>=100'],
    http_req_duration: ['p(95)<1000', 'p(99)<2000'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

// A 409 (someone else took the last unit) is a correct answer, not a failed request.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409));

// ROOMS, SECTIONS, STUDENTS: a smaller world for a short run (the system test's few seconds).
export function setup() {
  return setupWorld({ rooms: Number(__ENV.ROOMS || 40), sections: Number(__ENV.SECTIONS || 24), students: Number(__ENV.STUDENTS || 400) });
}

export const browseJourney = browse;
export const bookJourney = bookAndMaybeCancel;
export const enrollJourney = enrollAndPoll;
export const queryJourney = queryAndPoll;
