// A student's enrollment requests while they are worked on. The open ones are kept by the
// server (GET /api/enrollments/requests?status=open), so a student who leaves the page and
// comes back — or opens another device — sees them again with their live status. One look
// a second covers all of them; a request that leaves the open list is read once more for
// its outcome.

import { api } from '../api.js';
import { momentText } from '../dates.js';
import { html, render } from '../html.js';
import { again, done, poll } from '../poll.js';
import { explain, REQUEST_STATUS, SEAT_STATUS } from '../words.js';

const STEP = { queued: 1, processing: 2, completed: 3, failed: 3 };
const finished = (view) => view.status === 'completed' || view.status === 'failed';

/** Why a section was refused, in words, with the section's name. */
function refusal(error, label) {
  const reasons = {
    SECTION_FULL: `${label} has no seats left.`,
    SCHEDULE_CONFLICT: `${label} clashes with another of your classes.`,
    ALREADY_ENROLLED: `You are already enrolled in the course of ${label}.`,
    SECTION_NOT_FOUND: `${label} is not offered this term.`,
    TERM_CLOSED: 'Enrollment for this term is closed.',
    STUDENT_NOT_FOUND: 'Your student record was not found; ask the registry.',
    STUDENT_INACTIVE: 'Your student record is not active; ask the registry.',
    PROCESSING_FAILED: 'Something went wrong while processing the request; try again.',
  };
  return reasons[error?.code] ?? explain({ body: { detail: error?.detail } });
}

function requestMarkup(view, label) {
  const failedSeat = view.sections.find((s) => s.error);
  return html`<article class="request" data-request="${view.request_id}" aria-label="Request for ${view.sections.map((s) => label(s.code)).join(', ')}">
    <p><span class="request-status status-${view.status}">${REQUEST_STATUS[view.status]}</span> · sent ${momentText(view.accepted_at)}</p>
    <progress max="3" value="${STEP[view.status]}" aria-label="Request progress">${REQUEST_STATUS[view.status]}</progress>
    <ul>${view.sections.map((s) => html`<li>${label(s.code)}: <strong>${SEAT_STATUS[s.status] ?? s.status}</strong></li>`)}</ul>
    ${view.status === 'completed' ? html`<p class="notice ok">Enrolled in every section. <a href="#/courses">See My courses</a></p>` : ''}
    ${
      view.status === 'failed'
        ? html`<p class="notice bad">Not enrolled: ${refusal(view.error, failedSeat ? label(failedSeat.code) : 'a section')} Nothing was kept: choose other sections and try again.</p>`
        : ''
    }
  </article>`;
}

/**
 * Shows the student's open requests in `target` and follows them to their end. `label(code)`
 * names a section; `onFinished(view)` runs once for each request that ends while followed.
 */
export function followRequests(target, { label, onFinished = () => {} }) {
  const views = new Map();
  let following = false;
  const paint = () =>
    render(
      target,
      views.size
        ? html`<section aria-labelledby="requests-h" aria-live="polite"><h3 id="requests-h">Your requests</h3>
            ${[...views.values()].map((v) => requestMarkup(v, label))}</section>`
        : '',
    );
  const look = async () => {
    const open = await api('GET', '/api/enrollments/requests?status=open');
    if (!open.ok) return again(open);
    const stillOpen = new Set(open.body.map((v) => v.request_id));
    for (const view of open.body) views.set(view.request_id, view);
    for (const view of [...views.values()].filter((v) => !finished(v) && !stillOpen.has(v.request_id))) {
      const last = await api('GET', `/api/enrollments/requests/${view.request_id}`);
      if (!last.ok) return again(last);
      views.set(view.request_id, last.body);
      if (finished(last.body)) onFinished(last.body);
    }
    paint();
    return [...views.values()].some((v) => !finished(v)) ? again() : done();
  };
  const follow = async () => {
    if (following) return;
    following = true;
    try {
      // Quick first looks (a request is often done within a second), then one a second.
      while ([...views.values()].some((v) => !finished(v))) await poll(look, { every: [300, 600, 1000] });
    } finally {
      following = false;
    }
  };
  return {
    /** Reads the open requests now, and follows them if there are any. */
    async start() {
      const first = await look();
      if (!first.done) await follow();
    },
    /** A request just accepted: shown at once and followed. */
    async add(accepted) {
      views.set(accepted.request_id, {
        request_id: accepted.request_id,
        status: 'queued',
        sections: accepted.sections,
        accepted_at: new Date().toISOString(),
      });
      paint();
      await follow();
    },
  };
}
