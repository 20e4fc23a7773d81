// Rooms: every room, and a search by dates across them (which rooms are free for the whole
// stay). Choosing a room opens its calendar and booking form (room.js).

import { api, pager } from '../api.js';
import { addDays, dayName, nightsOf, nightsText, today } from '../dates.js';
import { $, busy, notice, on } from '../dom.js';
import { append, html, render } from '../html.js';
import { rememberRooms } from '../names.js';
import { explain } from '../words.js';
import { roomView } from './room.js';
import { rangeProblem } from './stay.js';

const roomLink = (room, stay) => `#/rooms?room=${room.id}${stay ? `&in=${stay.checkIn}&out=${stay.checkOut}` : ''}`;

function roomCard(room, stay, fit) {
  return html`<li class="card" data-room="${room.id}">
    <h3>${room.name}</h3>
    <p>${room.type} · ${room.total_quantity} ${room.total_quantity === 1 ? 'unit' : 'units'}</p>
    ${fit ? html`<p class="fit ${fit.kind}">${fit.text}</p>` : ''}
    <a class="button" href="${roomLink(room, stay)}" aria-label="Choose ${room.name}">Choose</a>
  </li>`;
}

/** How a room suits the stay, from its availability over the stay's nights. */
function fitOf(nights, stay) {
  const closed = nights.filter((n) => n.total === 0).map((n) => n.date);
  if (closed.length) return { kind: 'closed', rank: 2, text: `Not on sale on ${nightsText(closed)}` };
  const sold = nights.filter((n) => n.available === 0).map((n) => n.date);
  if (sold.length) return { kind: 'sold', rank: 1, text: `Sold out on ${nightsText(sold)}` };
  const least = Math.min(...nights.map((n) => n.available));
  const count = nightsOf(stay.checkIn, stay.checkOut).length;
  return {
    kind: 'free',
    rank: 0,
    text: `Free for ${count === 1 ? 'your night' : `all ${count} nights`} (${least} ${least === 1 ? 'unit' : 'units'} left)`,
  };
}

export async function roomsView(main, { params }) {
  if (params.get('room')) return roomView(main, { params });
  const stay = { checkIn: params.get('in') || addDays(today(), 1), checkOut: params.get('out') || addDays(today(), 2) };
  render(
    main,
    html`<h2>Rooms</h2>
      <form id="search" class="row" novalidate aria-describedby="search-hint">
        <div><label for="search-in">Check-in</label><input type="date" id="search-in" required min="${today()}" value="${stay.checkIn}"></div>
        <div><label for="search-out">Check-out</label><input type="date" id="search-out" required min="${addDays(today(), 1)}" value="${stay.checkOut}"></div>
        <div><button type="submit" id="search-button">Find free rooms</button></div>
      </form>
      <p class="hint" id="search-hint">Search by dates across every room, or choose a room to see its calendar.</p>
      <div id="search-result"></div>
      <ul id="rooms" class="cards" aria-label="Rooms"></ul>
      <div id="rooms-more"></div>`,
  );
  const rooms = [];
  const list = pager('/api/rooms');
  const loadMore = async () => {
    const answer = await list.more();
    if (!answer.ok) return notice($('#rooms-more', main), 'bad', explain(answer));
    rooms.push(...answer.body);
    rememberRooms(answer.body);
    append(
      $('#rooms', main),
      answer.body.map((room) => roomCard(room, null)),
    );
    render($('#rooms-more', main), list.done ? '' : html`<button type="button" class="secondary" id="more-rooms">Load more rooms</button>`);
  };
  on(main, 'click', async (event) => {
    if (event.target.closest('#more-rooms')) await loadMore();
  });
  const search = async () => {
    const checkIn = $('#search-in', main).value;
    const checkOut = $('#search-out', main).value;
    const result = $('#search-result', main);
    const problem = rangeProblem(checkIn, checkOut);
    if (problem) return notice(result, 'bad', problem, { focus: true });
    history.replaceState(null, '', `#/rooms?in=${checkIn}&out=${checkOut}`);
    const button = $('#search-button', main);
    busy(button, true);
    notice(result, 'info', 'Looking…');
    const fits = await searchRooms(rooms, { checkIn, checkOut });
    busy(button, false);
    const sorted = rooms.map((room, i) => ({ room, fit: fits[i] })).sort((a, b) => a.fit.rank - b.fit.rank);
    render(
      $('#rooms', main),
      sorted.map(({ room, fit }) => roomCard(room, { checkIn, checkOut }, fit)),
    );
    const free = sorted.filter((r) => r.fit.rank === 0).length;
    notice(
      result,
      free ? 'ok' : 'info',
      `${free} of ${rooms.length} rooms are free from ${dayName(checkIn)} to ${dayName(checkOut)}${list.done ? '' : ' (of the rooms loaded so far)'}.`,
      { focus: true },
    );
  };
  on($('#search', main), 'submit', (event) => {
    event.preventDefault();
    return search();
  });
  await loadMore();
  if (params.get('in')) await search();
}

/** Each room's availability over the stay, a few rooms at a time. */
async function searchRooms(rooms, stay) {
  const fits = new Array(rooms.length);
  let next = 0;
  const worker = async () => {
    while (next < rooms.length) {
      const i = next++;
      const answer = await api('GET', `/api/rooms/${rooms[i].id}/availability?from=${stay.checkIn}&to=${stay.checkOut}`);
      fits[i] = answer.ok ? fitOf(answer.body, stay) : { kind: 'closed', rank: 3, text: explain(answer) };
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return fits;
}
