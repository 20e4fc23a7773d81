// Words for people: API answers, statuses and field names as a user of the page would say them.

const FIELDS = {
  check_in: 'Check-in',
  check_out: 'Check-out',
  room_id: 'Room',
  sections: 'Sections',
  term: 'Term',
  from: 'From',
  to: 'To',
  min_available: 'Free units',
  section: 'Section',
  batch_size: 'Batch size',
  rate_limit_directory_per_min: 'Directory calls a minute',
  rate_limit_lms_per_min: 'LMS calls a minute',
  rate_limit_email_per_min: 'E-mails a minute',
  cron: 'Schedule (cron)',
  time_zone: 'Time zone',
  id: 'Student id',
  name: 'Name',
  email: 'E-mail',
  sub: 'User id',
};

const fieldName = (key) => FIELDS[key] ?? key.replace(/_/g, ' ');

/** `students.3.email` → "Student 4: e-mail"; `check_out` → "Check-out". */
export function fieldLabel(path) {
  const parts = String(path || '').split('.');
  const list = parts.length > 2 && /^\d+$/.test(parts[1]) ? `Line ${Number(parts[1]) + 1}: ` : '';
  const last = parts.at(-1);
  return list + (list ? fieldName(last).toLowerCase() : fieldName(last));
}

/** A validator's message in plain words, field names included ("must be after check_in"). */
function plain(message) {
  return (
    String(message)
      // Every number this API takes is whole: "> 0" reads best as "at least 1".
      .replace(/Too big: expected \w+ to (?:be|have) <=\s*(\d+)\s*(\w*)/i, 'must be at most $1 $2')
      .replace(/Too big: expected \w+ to (?:be|have) <\s*(\d+)\s*(\w*)/i, (_, n, unit) => `must be at most ${Number(n) - 1} ${unit}`)
      .replace(/Too small: expected \w+ to (?:be|have) >=\s*(\d+)\s*(\w*)/i, 'must be at least $1 $2')
      .replace(/Too small: expected \w+ to (?:be|have) >\s*(\d+)\s*(\w*)/i, (_, n, unit) => `must be at least ${Number(n) + 1} ${unit}`)
      .replace(/Invalid email address/i, 'must be an e-mail address')
      .replace(/Invalid input: expected (\w+), received undefined/i, 'is missing')
      .replace(/\b[a-z]+(?:_[a-z]+)+\b|\b(?:check_in|check_out)\b/g, (word) => fieldName(word).toLowerCase())
      .replace(/\s+$/, '')
  );
}

const ADVICE = {
  0: 'The server cannot be reached; check your connection and try again.',
  401: 'Your sign-in has expired. Sign in again.',
  403: 'Your role cannot do this.',
  429: 'That was a lot of requests in a short time. Wait a few seconds and try again.',
  500: 'Something went wrong on our side. Try again in a moment.',
  502: 'Part of the system is not answering. Try again in a moment.',
  503: 'Part of the system is busy or down. Try again in a moment.',
  504: 'The system took too long to answer. Try again.',
};

/**
 * A problem+json answer as one plain message. Bad input names each field once, in words
 * ("Check-out must be after check-in."), instead of the detail and the fields again.
 */
export function explain(answer) {
  const problem = answer?.body && typeof answer.body === 'object' ? answer.body : {};
  if (Array.isArray(problem.errors) && problem.errors.length > 0) {
    const sentences = problem.errors.map((e) => `${fieldLabel(e.path) || 'The request'} ${plain(e.message)}.`);
    return [...new Set(sentences)].join(' ');
  }
  if (problem.code === 'FORBIDDEN') return ADVICE[403];
  if (problem.code === 'RATE_LIMITED')
    return `That was a lot of requests in a short time. Wait ${answer.retryAfter} seconds and try again.`;
  if (problem.code === 'LOCK_TIMEOUT') return 'Many people are booking this room right now. Try again in a moment.';
  if (ADVICE[answer?.status] && (answer.status === 0 || answer.status >= 500 || answer.status === 401)) return ADVICE[answer.status];
  if (problem.detail) return `${plain(problem.detail)}.`.replace(/\.\.$/, '.');
  return ADVICE[answer?.status] ?? `The request failed (${answer?.status}).`;
}

export const BOOKING_STATUS = { confirmed: 'Confirmed', cancelled: 'Cancelled', pending: 'Being confirmed', failed: 'Not booked' };
export const REQUEST_STATUS = { queued: 'Waiting in line', processing: 'In progress', completed: 'Enrolled', failed: 'Not enrolled' };
export const SEAT_STATUS = {
  pending: 'Waiting',
  reserved: 'Seat held',
  enrolled: 'Enrolled',
  failed: 'Refused',
  released: 'Seat given back',
  not_attempted: 'Not tried: the request stopped before it',
};
export const TASK_TYPE = { ingest: 'Ingest', batch: 'Batch', workflow: 'Student' };
export const TASK_STATUS = { pending: 'Waiting', running: 'Running', completed: 'Done', failed: 'Failed' };
export const SAGA_STATUS = {
  running: 'Running',
  compensating: 'Giving seats back',
  completed: 'Completed',
  compensated: 'Undone',
  failed: 'Failed',
};
export const STEP_NAME = { validate_request: 'Checks', reserve_seat: 'Seat', confirm_enrollment: 'Confirm' };
export const STEP_STATUS = { pending: 'to do', completed: 'done', failed: 'failed', compensated: 'given back', skipped: 'skipped' };
export const BREAKER_STATE = { closed: 'Working', open: 'Open: failing fast', half_open: 'Testing recovery' };
// Every service's breakers of one name are one row (e.g. each service's own database under postgres).
export const BREAKER_NAME = {
  postgres: 'Databases (PostgreSQL)',
  publishing: 'Message publishing',
  redis: 'Redis (gateway cache, booking locks)',
  directory: 'Directory provider',
  lms: 'LMS provider',
  email: 'Mail provider',
  sis: 'Student-information source',
};
