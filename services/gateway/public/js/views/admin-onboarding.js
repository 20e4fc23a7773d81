// Onboarding: bring students in from the student-information source or from a list (pasted,
// or a CSV file), and follow the latest ingest in words — what is happening, how many of how
// many are done — at one request a second (GET /api/admin/onboarding/{id}/progress). The
// ingest followed is the newest one the server knows, so leaving and coming back resumes it.

import { api, pageSignal } from '../api.js';
import { momentText, plural } from '../dates.js';
import { $, busy, focusOn, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { again, done, poll } from '../poll.js';
import { parseStudents } from '../csv.js';
import { explain } from '../words.js';

const over = (p) => p.phase === 'finished' || p.phase === 'failed';

/** What an ingest is doing, as a sentence. */
export function progressSentence(p) {
  const known = p.already_seen ? ` (${plural(p.already_seen, 'student')} already known)` : '';
  const w = p.workflows;
  const ended = w.completed + w.failed;
  switch (p.phase) {
    case 'queued':
      return 'Waiting for a worker to pick up the ingest.';
    case 'reading':
      return p.source === 'request' ? 'Reading the students you sent…' : 'Reading new students from the student-information source…';
    case 'failed':
      return `The ingest failed: ${p.error ?? 'no reason was recorded'}.`;
    case 'onboarding':
      return `Onboarding ${plural(p.new ?? w.total, 'new student')}${known}: ${ended} of ${w.total} done${w.failed ? `, ${w.failed} failed` : ''}.`;
    default:
      if (!w.total) return `Finished: nobody new${known}.`;
      return `Finished: ${w.completed} of ${w.total} new students onboarded${w.failed ? `, ${w.failed} failed` : ''}${w.with_warnings ? `, ${w.with_warnings} with warnings` : ''}${known}.`;
  }
}

function progressMarkup(p) {
  const w = p.workflows;
  return html`<h4>Ingest started ${momentText(p.created_at)}</h4>
    <p id="ingest-phase" class="phase-${p.phase}">${progressSentence(p)}</p>
    ${
      w.total
        ? html`<progress max="${w.total}" value="${w.completed + w.failed}" aria-label="Students onboarded">${w.completed + w.failed} of ${w.total}</progress>
      <p class="hint">Batches: ${p.batches.completed + p.batches.failed} of ${p.batches.total} done.${p.finished_at ? ` Ended ${momentText(p.finished_at)}.` : ''}</p>`
        : ''
    }
    ${w.failed ? html`<p><a href="#/admin/tasks?type=workflow&status=failed">See the failed students in Tasks</a></p>` : ''}`;
}

export async function onboardingView(target) {
  render(
    target,
    html`<p>New students get a directory account, an LMS enrolment and a welcome e-mail, in batches.</p>
      <div class="row"><button type="button" id="ingest">Ingest new students from the student-information source</button></div>
      <form id="list" class="stack" novalidate>
        <h3>Or from a list</h3>
        <div><label for="pasted">Students, one a line: id, name, e-mail</label>
          <textarea id="pasted" rows="5" placeholder="RA0101, Ada Lovelace, ada@example.edu"></textarea></div>
        <div><label for="file">Or a CSV file</label><input type="file" id="file" accept=".csv,text/csv,text/plain"></div>
        <p id="list-check" class="hint" aria-live="polite"></p>
        <div><button type="submit" id="ingest-list" disabled>Onboard these students</button></div>
      </form>
      <section aria-labelledby="progress-h"><h3 id="progress-h">Progress</h3>
        <div id="ingest-progress" aria-live="polite"><p>Looking for the latest ingest…</p></div></section>`,
  );
  const progress = $('#ingest-progress', target);
  let parsed = { students: [], problems: [] };
  // One ingest is followed at a time: starting another stops following the last.
  let following = new AbortController();
  const page = pageSignal();
  const follow = async (taskId, announce, firstWait = 0) => {
    following.abort();
    const mine = (following = new AbortController());
    page.addEventListener('abort', () => mine.abort(), { once: true });
    const last = await poll(
      async () => {
        const answer = await api('GET', `/api/admin/onboarding/${taskId}/progress`);
        if (!answer.ok) {
          notice(progress, 'bad', explain(answer));
          return answer.status === 404 ? done() : again(answer);
        }
        render(progress, progressMarkup(answer.body));
        return over(answer.body) ? done(answer.body) : again();
      },
      { every: [firstWait, 1000], signal: mine.signal },
    );
    if (announce && last) focusOn($('#ingest-phase', progress));
  };
  const start = async (button, body) => {
    busy(button, true);
    const accepted = await api('POST', '/api/admin/onboarding/ingest', { body });
    busy(button, false);
    if (accepted.status !== 202) return notice(progress, 'bad', explain(accepted), { focus: true });
    notice(progress, 'info', 'Ingest accepted; waiting for the first figures…', { focus: true });
    await follow(accepted.body.task_id, true);
  };
  const check = () => {
    parsed = parseStudents($('#pasted', target).value);
    $('#ingest-list', target).disabled = parsed.students.length === 0 || parsed.problems.length > 0;
    render(
      $('#list-check', target),
      parsed.problems.length
        ? html`<span class="bad">${parsed.problems.slice(0, 5).join(' ')}${parsed.problems.length > 5 ? ` (${parsed.problems.length - 5} more lines like these)` : ''}</span>`
        : parsed.students.length
          ? `${plural(parsed.students.length, 'student')} ready.`
          : '',
    );
  };
  on($('#pasted', target), 'input', check);
  on($('#file', target), 'change', async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    $('#pasted', target).value = await file.text();
    check();
  });
  on($('#ingest', target), 'click', (event) => start(event.target, {}));
  on($('#list', target), 'submit', async (event) => {
    event.preventDefault();
    check();
    if (parsed.students.length && !parsed.problems.length) await start($('#ingest-list', target), { students: parsed.students });
  });
  // Resume: the newest ingest still at work among the last few (else the newest), as the
  // server knows them, so coming back — from any browser — picks up where things stand.
  const latest = await api('GET', '/api/admin/tasks?type=ingest');
  if (!latest.ok) return notice(progress, 'bad', explain(latest));
  if (latest.body.length === 0) return render(progress, html`<p>No ingest has run yet.</p>`);
  for (const ingest of latest.body.slice(0, 5)) {
    const look = await api('GET', `/api/admin/onboarding/${ingest.id}/progress`);
    if (look.ok && !over(look.body)) {
      render(progress, progressMarkup(look.body));
      return follow(ingest.id, false, 1000);
    }
  }
  await follow(latest.body[0].id, false);
}
