// A table filled a page at a time from a list endpoint: the first page now, "Load more" while
// the server names a next page (Link), and "Showing N of M" when the total is known. No view
// assumes one answer holds a whole list.

import { pager } from '../api.js';
import { $, notice, on } from '../dom.js';
import { append, html, render } from '../html.js';
import { explain } from '../words.js';

/**
 * Rows of `url` into `body` (a tbody), `row(item)` each. `more` holds the Load more button,
 * `shown` (optional) the count; `beforeRows(items)` runs before a page is drawn (to look up
 * names). Returns the function that loads the next page; call it once to start.
 */
export function pagedRows({ url, body, more, shown, row, empty, noun, columns, total, beforeRows }) {
  const list = pager(url);
  let count = 0;
  const loadMore = async () => {
    const answer = await list.more();
    if (!answer.ok) return notice(shown ?? more, 'bad', explain(answer));
    if (beforeRows) await beforeRows(answer.body);
    count += answer.body.length;
    if (count === 0) render(body, html`<tr><td colspan="${columns}">${empty}</td></tr>`);
    else if (count === answer.body.length) render(body, answer.body.map(row));
    else append(body, answer.body.map(row));
    if (shown) render(shown, total !== undefined ? `Showing ${count} of ${total} ${noun}.` : `Showing ${count} ${noun}.`);
    render(more, list.done ? '' : html`<button type="button" class="secondary">Load more ${noun}</button>`);
  };
  on(more, 'click', (event) => (event.target.closest('button') ? loadMore() : undefined));
  return loadMore;
}

/**
 * An admin list that a filter narrows: its table body is `#<noun>` inside `within`, beside
 * `#<noun>-more` and `#<noun>-shown`, and it says "No <noun> match." when nothing does.
 * `options` as pagedRows' (url, row, columns, total).
 */
export function filteredRows(within, noun, options) {
  const [body, more, shown] = ['', '-more', '-shown'].map((suffix) => $(`#${noun}${suffix}`, within));
  return pagedRows({ body, more, shown, empty: `No ${noun} match.`, noun, ...options });
}
