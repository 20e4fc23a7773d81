// My bookings (an admin sees everyone's): room names, dates, status in words, newest first, a
// page at a time. Cancel asks first and can be called off until confirmed.

import { api, pager } from '../api.js';
import { daysBetween, momentText, plural, stayText, today } from '../dates.js';
import { $, busy, confirmInline, focusOn, notice, on } from '../dom.js';
import { append, html, render } from '../html.js';
import { roomNames } from '../names.js';
import { session } from '../session.js';
import { BOOKING_STATUS, explain } from '../words.js';

const cancellable = (b) => b.status === 'confirmed' && b.check_out > today();

function row(b, nameOf, showUser) {
  return html`<tr data-booking="${b.id}">
    <th scope="row">${nameOf(b.room_id)}</th>
    <td>${stayText(b.check_in, b.check_out)}</td>
    ${showUser ? html`<td>${b.user_id}</td>` : ''}
    <td class="status-${b.status}">${BOOKING_STATUS[b.status] ?? b.status}</td>
    <td class="wide-only">${momentText(b.created_at)}</td>
    <td>${cancellable(b)
      ? html`<button type="button" class="secondary" data-cancel="${b.id}" aria-label="Cancel ${nameOf(b.room_id)}, ${stayText(b.check_in, b.check_out)}">Cancel</button>`
      : ''}</td>
  </tr>`;
}

export async function bookingsView(main) {
  const showUser = session()?.role === 'admin';
  render(
    main,
    html`<h2>${showUser ? 'Bookings' : 'My bookings'}</h2>
      <div id="bookings-result" aria-live="polite"></div>
      <div class="table-wrap" role="region" aria-label="Bookings" tabindex="0"><table>
        <thead><tr><th scope="col">Room</th><th scope="col">Stay</th>${showUser ? html`<th scope="col">Guest</th>` : ''}
          <th scope="col">Status</th><th scope="col" class="wide-only">Booked on</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody id="bookings"><tr><td colspan="${showUser ? 6 : 5}">Loading…</td></tr></tbody></table></div>
      <div id="bookings-more"></div>`,
  );
  const list = pager('/api/bookings');
  const bookings = new Map();
  let nameOf = (id) => `Room ${id}`;
  let first = true;
  const loadMore = async () => {
    const answer = await list.more();
    if (!answer.ok) return notice($('#bookings-result', main), 'bad', explain(answer));
    nameOf = await roomNames(answer.body.map((b) => b.room_id));
    answer.body.forEach((b) => bookings.set(b.id, b));
    const rows = answer.body.map((b) => row(b, nameOf, showUser));
    if (first) render($('#bookings', main), rows.length ? rows : html`<tr><td colspan="${showUser ? 6 : 5}">No bookings yet. <a href="#/rooms">Find a room</a></td></tr>`);
    else append($('#bookings', main), rows);
    first = false;
    render($('#bookings-more', main), list.done ? '' : html`<button type="button" class="secondary" id="more-bookings">Load more bookings</button>`);
  };
  on(main, 'click', async (event) => {
    if (event.target.closest('#more-bookings')) return loadMore();
    const button = event.target.closest('[data-cancel]');
    if (!button) return;
    const booking = bookings.get(button.dataset.cancel);
    const result = $('#bookings-result', main);
    const what = `${nameOf(booking.room_id)}, ${stayText(booking.check_in, booking.check_out)}`;
    const yes = await confirmInline(result, {
      question: `Cancel ${what}? The ${plural(daysBetween(booking.check_in, booking.check_out), 'night')} go back on sale.`,
      yes: 'Yes, cancel the booking',
      no: 'Keep the booking',
    });
    if (!yes) {
      notice(result, 'info', `Kept ${what}.`);
      return focusOn(button);
    }
    busy(button, true);
    const answer = await api('POST', `/api/bookings/${booking.id}/cancel`);
    if (!answer.ok) {
      busy(button, false);
      return notice(result, 'bad', explain(answer), { focus: true });
    }
    bookings.set(booking.id, answer.body);
    $(`tr[data-booking="${booking.id}"]`, main).outerHTML = row(answer.body, nameOf, showUser).text;
    notice(result, 'ok', `Cancelled ${what}. The nights are on sale again.`, { focus: true });
  });
  await loadMore();
}
