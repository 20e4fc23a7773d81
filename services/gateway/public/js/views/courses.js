// My courses: the term's timetable (weekday × hour), each enrollment with Drop (asked first),
// and any request still being worked on, with its live status (kept by the server, so it is
// found again after leaving the page).

import { api, everything } from '../api.js';
import { scheduleText } from '../dates.js';
import { $, background, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { sectionLabel, sectionsOf } from '../names.js';
import { session } from '../session.js';
import { explain } from '../words.js';
import { askThenSend } from './ask.js';
import { followRequests } from './requests.js';
import { timetableMarkup } from './schedule.js';

export async function coursesView(main) {
  const student = session().sub;
  render(
    main,
    html`<h2>My courses</h2>
      <div class="row"><div><label for="term">Term</label><select id="term"></select></div></div>
      <div id="requests"></div>
      <div id="courses-result" aria-live="polite"></div>
      <div id="timetable"></div>
      <section aria-labelledby="enrolled-h"><h3 id="enrolled-h">Enrolled</h3><ul id="enrolled" class="enrolled"><li>Loading…</li></ul></section>`,
  );
  const terms = await everything('/api/terms');
  if (!terms.ok) return notice($('#courses-result', main), 'bad', explain(terms));
  const shown = terms.body.filter((t) => t.open).concat(terms.body.filter((t) => !t.open));
  render(
    $('#term', main),
    shown.map((t) => html`<option value="${t.code}">${t.name}${t.open ? '' : ' (closed)'}</option>`),
  );
  let sections = new Map();
  let enrollments = new Map();
  const load = async () => {
    const term = $('#term', main).value;
    const termName = shown.find((t) => t.code === term)?.name ?? term;
    const [list, catalog] = await Promise.all([
      everything(`/api/students/${encodeURIComponent(student)}/enrollments?term=${encodeURIComponent(term)}`),
      sectionsOf(term),
    ]);
    sections = catalog;
    if (!list.ok) return notice($('#courses-result', main), 'bad', explain(list));
    enrollments = new Map(list.body.map((e) => [e.id, e]));
    const items = list.body.map((e) => ({ title: e.course_name, detail: e.section, schedule: e.schedule }));
    render($('#timetable', main), timetableMarkup(items, `Timetable, ${termName}`));
    render(
      $('#enrolled', main),
      list.body.length
        ? list.body.map(
            (e) => html`<li data-enrollment="${e.id}"><span><strong>${e.course_name}</strong> (${e.section})
              <span class="hint">${scheduleText(e.schedule)}</span></span>
              <button type="button" class="secondary" data-drop="${e.id}" aria-label="Drop ${e.course_name} (${e.section})">Drop</button></li>`,
          )
        : html`<li>Not enrolled in anything this term. <a href="#/enroll">Find sections</a></li>`,
    );
  };
  const requests = followRequests($('#requests', main), {
    label: (code) => sectionLabel(sections, code),
    onFinished: () => background(load()),
  });
  on($('#term', main), 'change', load);
  on($('#enrolled', main), 'click', async (event) => {
    const button = event.target.closest('[data-drop]');
    if (!button) return;
    const enrollment = enrollments.get(button.dataset.drop);
    const what = `${enrollment.course_name} (${enrollment.section})`;
    const result = $('#courses-result', main);
    const answer = await askThenSend(result, button, {
      question: `Drop ${what}? Your seat goes back to the catalog, and someone else may take it.`,
      yes: 'Yes, drop it',
      no: 'Keep it',
      kept: `Kept ${what}.`,
      send: () => api('DELETE', `/api/enrollments/${enrollment.id}`),
    });
    if (!answer) return;
    await load();
    notice(result, 'ok', `Dropped ${what}. Its seat is free again.`, { focus: true });
  });
  await load();
  background(requests.start());
}
