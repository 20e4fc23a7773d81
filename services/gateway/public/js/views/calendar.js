// A room's nights as a calendar: weekdays in columns, the month named, sold-out and closed
// nights plain to see, the chosen stay highlighted; free nights are buttons a guest clicks to
// pick a stay (first night, then last night).

import { dayName, weekdayIndex, WEEKDAYS, WEEKDAY_SHORT, monthName } from '../dates.js';
import { html } from '../html.js';

function nightState(night) {
  if (night.total === 0) return { kind: 'closed', text: 'Closed', more: ' (not on sale)' };
  if (night.available === 0) return { kind: 'sold', text: 'Sold out', more: '' };
  const text = night.available === 1 ? '1 left' : `${night.available} free`;
  return { kind: night.available === 1 ? 'last' : 'free', text, more: ` of ${night.total}` };
}

/**
 * The nights shown (consecutive, from any weekday) as a grid that starts on a Monday.
 * `stay` is {checkIn, checkOut} or null; its nights are marked as chosen.
 */
export function calendarMarkup(nights, stay, roomName) {
  if (nights.length === 0) return html`<p>No nights to show.</p>`;
  const chosen = (date) => Boolean(stay && date >= stay.checkIn && date < stay.checkOut);
  const first = nights[0].date;
  const last = nights.at(-1).date;
  const months = monthName(first) === monthName(last) ? monthName(first) : `${monthName(first)} – ${monthName(last)}`;
  return html`<div class="calendar" role="group" aria-label="Nights of ${roomName}, ${months}">
    <p class="calendar-title" aria-hidden="true">${months}</p>
    <div class="calendar-grid">
      ${WEEKDAYS.map((d) => html`<div class="weekday" aria-hidden="true">${WEEKDAY_SHORT[d]}</div>`)}
      ${Array.from({ length: weekdayIndex(first) }, () => html`<div class="blank" aria-hidden="true"></div>`)}
      ${nights.map((night) => {
        const state = nightState(night);
        const [weekday, day, month] = dayName(night.date).split(' ');
        const showMonth = day === '1' || night.date === first;
        const pickable = state.kind === 'free' || state.kind === 'last';
        // The name read out is the visible text with the words the eye gets from the grid
        // ("Tue 1 Dec: 4 free"), so it contains what is seen (WCAG 2.5.3, label in name).
        return html`<button type="button" class="night ${state.kind} ${chosen(night.date) ? 'chosen' : ''}" data-date="${night.date}"
            aria-pressed="${chosen(night.date) ? 'true' : 'false'}" ${pickable ? '' : 'disabled'}><span class="visually-hidden">${weekday} </span><span
            class="day">${showMonth ? `${day} ${month}` : day}</span><span class="visually-hidden">${showMonth ? '' : ` ${month}`}: </span><span
            class="state">${state.text}</span><span class="visually-hidden">${state.more}${chosen(night.date) ? ', in your stay' : ''}</span></button>`;
      })}
    </div>
  </div>`;
}

export const CALENDAR_LEGEND = html`<ul class="legend" aria-label="Key">
  <li><span class="swatch free"></span>Free</li><li><span class="swatch last"></span>Last unit</li>
  <li><span class="swatch sold"></span>Sold out</li><li><span class="swatch closed"></span>Not on sale</li>
  <li><span class="swatch chosen"></span>Your stay</li></ul>`;
