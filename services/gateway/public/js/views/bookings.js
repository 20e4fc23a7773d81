// My bookings (an admin sees everyone's): room names, dates, status in words, newest first, a
// page at a time. Cancel asks first and can be called off until confirmed.

import { api } from '../api.js';
import { daysBetween, momentText, plural, stayText, today } from '../dates.js';
import { $, notice, on } from '../dom.js';
import { html, render } from '../html.js';
import { roomNames } from '../names.js';
import { session } from '../session.js';
import { BOOKING_STATUS } from '../words.js';
import { askThenSend } from './ask.js';
import { pagedRows } from './paged.js';

const cancellable = (b) => b.status === 'confirmed' && b.check_out > today();

function row(b, nameOf, showUser) {
  return html`<tr data-booking="${b.id}">
    <th scope="row">${nameOf(b.room_id)}</th>
    <td>${stayText(b.check_in, b.check_out)}</td>
    ${showUser ? html`<td>${b.user_id}</td>` : ''}
    <td class="status-${b.status}">${BOOKING_STATUS[b.status] ?? b.status}</td>
    <td class="wide-only">${momentText(b.created_at)}</td>
    <td>${
      cancellable(b)
        ? html`<button type="button" class="secondary" data-cancel="${b.id}" aria-label="Cancel ${nameOf(b.room_id)}, ${stayText(b.check_in, b.check_out)}">Cancel</button>`
        : ''
    }</td>
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
  const bookings = new Map();
  let nameOf = (id) => `Room ${id}`;
  const loadMore = pagedRows({
    url: '/api/bookings',
    body: $('#bookings', main),
    more: $('#bookings-more', main),
    row: (b) => row(b, nameOf, showUser),
    empty: html`No bookings yet. <a href="#/rooms">Find a room</a>`,
    noun: 'bookings',
    columns: showUser ? 6 : 5,
    beforeRows: async (page) => {
      nameOf = await roomNames(page.map((b) => b.room_id));
      page.forEach((b) => bookings.set(b.id, b));
    },
  });
  on(main, 'click', async (event) => {
    const button = event.target.closest('[data-cancel]');
    if (!button) return;
    const booking = bookings.get(button.dataset.cancel);
    const result = $('#bookings-result', main);
    const what = `${nameOf(booking.room_id)}, ${stayText(booking.check_in, booking.check_out)}`;
    const answer = await askThenSend(result, button, {
      question: `Cancel ${what}? The ${plural(daysBetween(booking.check_in, booking.check_out), 'night')} go back on sale.`,
      yes: 'Yes, cancel the booking',
      no: 'Keep the booking',
      kept: `Kept ${what}.`,
      send: () => api('POST', `/api/bookings/${booking.id}/cancel`),
    });
    if (!answer) return;
    bookings.set(booking.id, answer.body);
    $(`tr[data-booking="${booking.id}"]`, main).outerHTML = row(answer.body, nameOf, showUser).text;
    notice(result, 'ok', `Cancelled ${what}. The nights are on sale again.`, { focus: true });
  });
  await loadMore();
}
