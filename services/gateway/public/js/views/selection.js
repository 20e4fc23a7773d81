// The selection panel of the Enroll page: what is ticked, what clashes (with each other or
// with classes the student already has) before anything is sent, and the one submit button,
// always in reach (beside the catalog, or pinned under it on a phone).

import { api } from '../api.js';
import { plural, scheduleText } from '../dates.js';
import { $, busy, focusOn, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { explain } from '../words.js';
import { clashText, clashes } from './schedule.js';

const MAX_SECTIONS = 10;
// Beside the catalog the list is open; pinned under it on a phone it starts folded.
const wide = matchMedia('(min-width: 900px)');

/** What stops the selection from going through, in words (empty when it may be sent). */
function problemsOf(chosen, enrolled) {
  const mine = enrolled.map((e) => ({ code: e.section, course: e.course, course_name: e.course_name, schedule: e.schedule, mine: true }));
  const name = (s) => `${s.mine ? 'your ' : ''}${s.course_name} (${s.code})`;
  const problems = clashes([...chosen, ...mine])
    .filter((c) => !(c.a.mine && c.b.mine))
    .map((c) => clashText(c, name));
  chosen.forEach((s, i) => {
    const held = mine.find((m) => m.course === s.course);
    if (held) problems.push(`You are already enrolled in ${s.course_name} (${held.code}).`);
    else if (chosen.findIndex((o) => o.course === s.course) < i) problems.push(`${s.course_name} is chosen twice: keep one section.`);
  });
  if (chosen.length > MAX_SECTIONS) problems.push(`At most ${MAX_SECTIONS} sections go in one request.`);
  return problems;
}

export function selectionPanel(target, { state, term, submitted }) {
  const chosenSections = () => [...state.chosen].map((code) => state.sections.get(code)).filter(Boolean);
  const paint = () => {
    const chosen = chosenSections();
    const problems = problemsOf(chosen, state.enrolled);
    const result = $('#enroll-result', target)?.innerHTML ?? '';
    render(
      target,
      html`<h3 id="selection-h">Your selection${chosen.length ? ` (${chosen.length})` : ''}</h3>
        ${
          chosen.length
            ? html`<details ${wide.matches ? 'open' : ''}><summary>${plural(chosen.length, 'section')} chosen</summary><ul class="chosen">${chosen.map(
                (
                  s,
                ) => html`<li><span><strong>${s.course_name}</strong> (${s.code}) <span class="hint">${scheduleText(s.schedule)}</span></span>
                <button type="button" class="link" data-remove="${s.code}" aria-label="Remove ${s.course_name} (${s.code})">Remove</button></li>`,
              )}</ul></details>`
            : html`<p class="hint">Tick the sections you want; they are listed here.</p>`
        }
        ${
          problems.length
            ? html`<div class="notice bad" id="selection-problems"><p><strong>Before you submit:</strong></p><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`
            : ''
        }
        <button type="button" id="enroll-button" ${chosen.length && !problems.length ? '' : 'disabled'}
          ${problems.length ? html`aria-describedby="selection-problems"` : ''}>Submit request${chosen.length ? ` for ${plural(chosen.length, 'section')}` : ''}</button>
        <div id="enroll-result"></div>`,
    );
    $('#enroll-result', target).innerHTML = result;
  };
  on(target, 'click', async (event) => {
    const remove = event.target.closest('[data-remove]');
    if (remove) {
      state.chosen.delete(remove.dataset.remove);
      paint();
      return focusOn($('#enroll-button', target));
    }
    if (!event.target.closest('#enroll-button')) return;
    const codes = chosenSections().map((s) => s.code);
    const button = $('#enroll-button', target);
    busy(button, true);
    const answer = await api('POST', '/api/enrollments', { body: { term: term(), sections: codes } });
    busy(button, false);
    if (answer.status !== 202) return notice($('#enroll-result', target), 'bad', explain(answer), { focus: true });
    submitted(answer.body, codes);
    paint();
    notice(
      $('#enroll-result', target),
      'ok',
      'Request sent. Its progress is shown under “Your requests”; it carries on if you leave this page.',
      { focus: true },
    );
  });
  paint();
  return { paint };
}
