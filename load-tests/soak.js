// The mixed journeys at a steady arrival rate for a long run (default 30 min): finds what
// only time shows — leaks, growing queues, slowing queries.
//   k6 run -e BASE_URL=… -e JWT_SECRET=… -e RATE=40 -e DURATION=2h load-tests/soak.js
import http from 'k6/http';
import { browse, bookAndMaybeCancel, enrollAndPoll, queryAndPoll, setupWorld } from './lib/journeys.js';

const RATE = Number(__ENV.RATE || 40);
const DURATION = __ENV.DURATION || '30m';

const steady = (share, exec) => ({
  executor: 'constant-arrival-rate',
  exec,
  rate: Math.max(1, Math.round(RATE * share)),
  timeUnit: '1s',
  duration: DURATION,
  preAllocatedVUs: Math.max(10, Math.ceil(RATE * share * 2)),
  maxVUs: Math.max(50, Math.ceil(RATE * share * 10)),
});

export const options = {
  setupTimeout: '5m',
  scenarios: {
    browse: steady(0.45, 'browseJourney'),
    book: steady(0.3, 'bookJourney'),
    enroll: steady(0.15, 'enrollJourney'),
    query: steady(0.1, 'queryJourney'),
  },
  thresholds: {
    http_req_duration: ['p(95)<1000', 'p(99)<2000'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    dropped_iterations: ['count<10'],
  },
};

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 409));

export function setup() {
  return setupWorld({ rooms: 60, sections: 30, students: 600 });
}

export const browseJourney = browse;
export const bookJourney = bookAndMaybeCancel;
export const enrollJourney = enrollAndPoll;
export const queryJourney = queryAndPoll;
