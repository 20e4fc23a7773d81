// Enroll: a term's sections with course names, searchable and filterable (course, day, time,
// seats left); full sections marked and not selectable; the selection beside the catalog
// (or pinned under it on a phone) with clashes flagged before anything is sent.

import { everything } from '../api.js';
import { scheduleText, WEEKDAYS, WEEKDAY_NAMES } from '../dates.js';
import { $, background, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { session } from '../session.js';
import { explain } from '../words.js';
import { followRequests } from './requests.js';
import { selectionPanel } from './selection.js';

const TIMES = { morning: ['00:00', '12:00'], afternoon: ['12:00', '17:00'], evening: ['17:00', '24:00'] };

function matches(section, filter) {
  const text = filter.text.trim().toLowerCase();
  if (text && ![section.code, section.course, section.course_name].some((v) => v.toLowerCase().includes(text))) return false;
  if (filter.seats && section.enrolled >= section.capacity) return false;
  if (!filter.day && !filter.time) return true;
  const [from, to] = TIMES[filter.time] ?? ['00:00', '24:00'];
  return section.schedule.some((m) => (!filter.day || m.day === filter.day) && m.start >= from && m.start < to);
}

function sectionItem(section, chosen) {
  const left = section.capacity - section.enrolled;
  const full = left <= 0;
  const id = `s-${section.code}`;
  return html`<li class="section ${full ? 'full' : ''}">
    <input type="checkbox" id="${id}" value="${section.code}" ${chosen ? 'checked' : ''} ${full ? 'disabled' : ''} aria-describedby="${id}-seats">
    <label for="${id}"><strong>${section.course_name}</strong> <span class="code">${section.course} · <span class="nowrap">section ${section.code}</span></span>
      <span>${scheduleText(section.schedule)}</span></label>
    <span class="seats ${full ? 'none' : left <= 3 ? 'few' : ''}" id="${id}-seats">${full ? 'Full' : `${left} of ${section.capacity} ${left === 1 ? 'seat' : 'seats'} left`}</span>
  </li>`;
}

export async function enrollView(main) {
  const student = session().sub;
  render(
    main,
    html`<h2>Enroll</h2>
      <div id="requests"></div>
      <div class="enroll">
        <div class="catalog">
          <form id="filters" class="row" role="search" aria-label="Find sections">
            <div><label for="term">Term</label><select id="term"></select></div>
            <div><label for="find">Course</label><input id="find" type="search" placeholder="Code or name" autocomplete="off"></div>
            <div><label for="day">Day</label><select id="day"><option value="">Any day</option>${WEEKDAYS.map((d) => html`<option value="${d}">${WEEKDAY_NAMES[d]}</option>`)}</select></div>
            <div><label for="time">Time</label><select id="time"><option value="">Any time</option><option value="morning">Morning (before 12:00)</option>
              <option value="afternoon">Afternoon (12:00–17:00)</option><option value="evening">Evening (from 17:00)</option></select></div>
            <div class="check"><input type="checkbox" id="seats"><label for="seats">Only with seats left</label></div>
          </form>
          <p id="match-count" role="status"></p>
          <ul id="sections" class="sections" aria-label="Sections"></ul>
        </div>
        <aside id="selection" class="selection" aria-labelledby="selection-h"></aside>
      </div>`,
  );
  const terms = await everything('/api/terms');
  if (!terms.ok) return notice($('#match-count', main), 'bad', explain(terms));
  const open = terms.body.filter((t) => t.open);
  render(
    $('#term', main),
    open.map((t) => html`<option value="${t.code}">${t.name}</option>`),
  );
  if (open.length === 0) return notice($('#match-count', main), 'info', 'No term is open for enrollment now.');
  const state = { sections: new Map(), chosen: new Set(), enrolled: [] };
  const label = (code) => (state.sections.get(code) ? `${state.sections.get(code).course_name} (${code})` : code);
  const requests = followRequests($('#requests', main), { label, onFinished: () => background(load()) });
  const filterOf = () => ({
    text: $('#find', main).value,
    day: $('#day', main).value,
    time: $('#time', main).value,
    seats: $('#seats', main).checked,
  });
  const showList = () => {
    const shown = [...state.sections.values()].filter((s) => matches(s, filterOf()));
    render(
      $('#sections', main),
      shown.map((s) => sectionItem(s, state.chosen.has(s.code))),
    );
    render($('#match-count', main), `${shown.length} of ${state.sections.size} sections`);
  };
  const panel = selectionPanel($('#selection', main), {
    state,
    term: () => $('#term', main).value,
    submitted: (accepted, codes) => {
      state.chosen.clear();
      showList();
      background(requests.add({ ...accepted, sections: codes.map((code) => ({ code, status: 'pending' })) }));
    },
  });
  const load = async () => {
    const term = $('#term', main).value;
    const [sections, enrolled] = await Promise.all([
      everything(`/api/sections?term=${encodeURIComponent(term)}`),
      everything(`/api/students/${encodeURIComponent(student)}/enrollments?term=${encodeURIComponent(term)}`),
    ]);
    if (!sections.ok) return notice($('#match-count', main), 'bad', explain(sections));
    state.sections = new Map(sections.body.map((s) => [s.code, s]));
    state.enrolled = enrolled.ok ? enrolled.body : [];
    for (const code of state.chosen) if (!state.sections.has(code)) state.chosen.delete(code);
    showList();
    panel.paint();
  };
  on($('#filters', main), 'input', (event) => (event.target.id === 'term' ? undefined : showList()));
  on($('#filters', main), 'submit', (event) => event.preventDefault());
  on($('#term', main), 'change', () => {
    state.chosen.clear();
    return load();
  });
  on($('#sections', main), 'change', (event) => {
    const box = event.target;
    if (box.checked) state.chosen.add(box.value);
    else state.chosen.delete(box.value);
    panel.paint();
  });
  await load();
  background(requests.start());
  // A section the panel removed is unticked in the list too.
  on($('#selection', main), 'click', (event) => {
    if (event.target.closest('[data-remove]')) showList();
  });
}
