// One room: its calendar (click the first and last night of a stay) and the booking form.
// Messages say what really happened (stay.js); the confirmation names the room, dates and
// nights and links to My bookings, and focus moves to it.

import { api, everything, freshKey } from '../api.js';
import { addDays, daysBetween, plural, stayText, today } from '../dates.js';
import { $, busy, confirmInline, focusOn, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { session } from '../session.js';
import { explain } from '../words.js';
import { CALENDAR_LEGEND, calendarMarkup } from './calendar.js';
import { availabilityProblem, rangeProblem, refusalMessage } from './stay.js';

const LOADED_NIGHTS = 120;
const SHOWN_NIGHTS = 42;

export async function roomView(main, { params }) {
  const roomId = Number(params.get('room'));
  render(main, html`<p><a href="#/rooms">← All rooms</a></p><h2 id="room-name">Room</h2><div id="room-body"><p>Loading…</p></div>`);
  const found = await api('GET', `/api/rooms/${roomId}`);
  if (!found.ok) return notice($('#room-body', main), 'bad', found.status === 404 ? 'There is no such room.' : explain(found));
  const room = found.body;
  const state = {
    nights: [],
    bookings: [],
    start: today(),
    stay: { checkIn: params.get('in') || addDays(today(), 1), checkOut: params.get('out') || addDays(today(), 2) },
    anchor: null,
  };
  render($('#room-name', main), room.name);
  render(
    $('#room-body', main),
    html`<p>${room.type} · ${plural(room.total_quantity, 'unit')}</p>
      <section aria-labelledby="nights-h"><h3 id="nights-h">Nights</h3>
        <p class="hint">Click the first night of your stay, then the last one.</p>
        <div class="row"><button type="button" class="secondary" id="earlier">Earlier nights</button>
          <button type="button" class="secondary" id="later">Later nights</button></div>
        <div id="calendar"></div>${CALENDAR_LEGEND}</section>
      <section aria-labelledby="book-h"><h3 id="book-h">Book</h3>
        <form id="book" class="row" novalidate>
          <div><label for="check_in">Check-in</label><input type="date" id="check_in" required min="${today()}"></div>
          <div><label for="check_out">Check-out</label><input type="date" id="check_out" required></div>
          <div><button type="submit" id="book-button">Book</button></div>
        </form>
        <p id="stay-summary" class="hint"></p>
        <div id="book-result"></div></section>`,
  );
  const show = () => {
    const { checkIn, checkOut } = state.stay;
    $('#check_in', main).value = checkIn;
    $('#check_out', main).value = checkOut;
    $('#check_out', main).min = addDays(checkIn || today(), 1);
    const end = addDays(state.start, SHOWN_NIGHTS);
    render(
      $('#calendar', main),
      calendarMarkup(
        state.nights.filter((n) => n.date >= state.start && n.date < end),
        state.stay,
        room.name,
      ),
    );
    $('#earlier', main).disabled = state.start <= today();
    $('#later', main).disabled = end >= addDays(today(), LOADED_NIGHTS);
    const ok = checkIn && checkOut && checkOut > checkIn;
    render($('#stay-summary', main), ok ? `Your stay: ${stayText(checkIn, checkOut)}.` : '');
    $('#book-button', main).textContent = ok ? `Book ${plural(daysBetween(checkIn, checkOut), 'night')}` : 'Book';
  };
  const refresh = async () => {
    const [nights, bookings] = await Promise.all([
      api('GET', `/api/rooms/${room.id}/availability?from=${today()}&to=${addDays(today(), LOADED_NIGHTS)}`),
      ownBookings(),
    ]);
    if (!nights.ok) return notice($('#calendar', main), 'bad', explain(nights));
    state.nights = nights.body;
    state.bookings = bookings;
    const onSale = state.nights.filter((n) => n.total > 0);
    $('#check_in', main).max = onSale.at(-1)?.date ?? today();
    $('#check_out', main).max = addDays(onSale.at(-1)?.date ?? today(), 1);
    show();
  };

  on($('#calendar', main), 'click', (event) => {
    const night = event.target.closest('button.night')?.dataset.date;
    if (!night) return;
    if (state.anchor && night >= state.anchor) {
      state.stay = { checkIn: state.anchor, checkOut: addDays(night, 1) };
      state.anchor = null;
    } else {
      state.stay = { checkIn: night, checkOut: addDays(night, 1) };
      state.anchor = night;
    }
    show();
    focusOn($(`#calendar [data-date="${night}"]`, main));
  });
  on($('#book', main), 'change', () => {
    state.stay = { checkIn: $('#check_in', main).value, checkOut: $('#check_out', main).value };
    state.anchor = null;
    if (state.stay.checkIn >= addDays(state.start, SHOWN_NIGHTS) || state.stay.checkIn < state.start)
      state.start = state.stay.checkIn < today() ? today() : state.stay.checkIn;
    show();
  });
  on($('#earlier', main), 'click', () => {
    state.start = [addDays(state.start, -28), today()].sort().at(-1);
    show();
  });
  on($('#later', main), 'click', () => {
    state.start = addDays(state.start, 28);
    show();
  });
  on($('#book', main), 'submit', async (event) => {
    event.preventDefault();
    await book(main, room, state, refresh);
  });
  await refresh();
}

/** The signed-in user's bookings (an admin's own, not everyone's). */
async function ownBookings() {
  const who = session();
  if (!who) return [];
  const all = await everything(who.role === 'admin' ? `/api/bookings?user_id=${encodeURIComponent(who.sub)}` : '/api/bookings', 5);
  return all.ok ? all.body : [];
}

async function book(main, room, state, refresh) {
  const result = $('#book-result', main);
  const { checkIn, checkOut } = state.stay;
  const problem = rangeProblem(checkIn, checkOut);
  if (problem) return notice(result, 'bad', problem, { focus: true });
  if (!session())
    return notice(
      result,
      'bad',
      html`Sign in to book. <a href="#/signin?next=${encodeURIComponent(`#/rooms?room=${room.id}&in=${checkIn}&out=${checkOut}`)}">Sign in</a>`,
      { focus: true },
    );
  const known = availabilityProblem({
    roomName: room.name,
    nights: state.nights,
    checkIn,
    checkOut,
    bookings: state.bookings,
    roomId: room.id,
  });
  if (known && !known.canProceed) return notice(result, 'bad', known.text, { focus: true });
  if (
    known &&
    !(await confirmInline(result, { question: `${known.text} Book another unit?`, yes: 'Book another unit', no: 'Do not book' }))
  ) {
    return notice(result, 'info', 'Nothing was booked.', { focus: true });
  }
  const button = $('#book-button', main);
  const before = state.nights;
  busy(button, true);
  notice(result, 'info', 'Booking…');
  const answer = await api('POST', '/api/bookings', {
    body: { room_id: room.id, check_in: checkIn, check_out: checkOut },
    headers: { 'Idempotency-Key': freshKey() },
  });
  busy(button, false);
  if (answer.status === 201) {
    notice(
      result,
      'ok',
      html`<strong>Booked ${room.name}: ${stayText(answer.body.check_in, answer.body.check_out)}.</strong>
      Your booking is confirmed. <a href="#/bookings">See My bookings</a>`,
      { focus: true },
    );
    await refresh();
  } else if (answer.status === 409 && answer.body?.code === 'ROOM_UNAVAILABLE') {
    await refresh();
    const refused = Array.isArray(answer.body.nights) ? answer.body.nights : [];
    notice(
      result,
      'bad',
      refusalMessage({
        roomName: room.name,
        refused,
        before,
        after: state.nights,
        bookings: state.bookings,
        roomId: room.id,
        checkIn,
        checkOut,
      }),
      { focus: true },
    );
  } else {
    notice(result, 'bad', explain(answer), { focus: true });
  }
}
