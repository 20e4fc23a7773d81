// Small helpers every view shares: messages, busy buttons, focus, confirmations, the status line.

import { LeftPage } from './api.js';
import { html, render } from './html.js';

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Moves focus to an element (made focusable if it is not), so keyboard and screen-reader users follow. */
export function focusOn(element) {
  if (!element) return;
  if (!element.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(element.tagName))
    element.setAttribute('tabindex', '-1');
  element.focus({ preventScroll: false });
}

/** A message in `target`: kind ok, bad or info. Bad ones are alerts; `focus` moves focus to it. */
export function notice(target, kind, message, { focus = false } = {}) {
  render(target, html`<div class="notice ${kind}" role="${kind === 'bad' ? 'alert' : 'status'}" tabindex="-1">${message}</div>`);
  if (focus) focusOn(target.firstElementChild);
  return target.firstElementChild;
}

export function busy(button, on) {
  if (!button) return;
  button.disabled = on;
  button.setAttribute('aria-busy', String(on));
}

/** The line at the bottom of the page for things that concern no one view (waiting out a 429). */
export function say(text) {
  const line = document.getElementById('status');
  if (line) line.textContent = text;
}

/**
 * Runs an event handler; a view left meanwhile just stops, anything unexpected is said in the
 * status line instead of becoming an uncaught error.
 */
export function on(target, event, handler) {
  const report = (error) => {
    if (!(error instanceof LeftPage)) say(`Something went wrong: ${error.message}. Reload the page.`);
  };
  target.addEventListener(event, (e) => {
    // Called at once (not in a later microtask), so a handler's preventDefault still counts.
    try {
      Promise.resolve(handler(e)).catch(report);
    } catch (error) {
      report(error);
    }
  });
}

/** Lets work run on without the caller waiting; leaving the page ends it quietly. */
export function background(promise) {
  promise.catch((error) => {
    if (!(error instanceof LeftPage)) say(`Something went wrong: ${error.message}. Reload the page.`);
  });
}

/**
 * Asks before something that cannot be taken back: shows the question and two buttons in
 * `target`, focuses the safe one, and resolves true only on "yes". Until then nothing is sent.
 */
export function confirmInline(target, { question, yes, no }) {
  render(
    target,
    html`<div class="confirm" role="group" aria-label="${question}">
      <p>${question}</p>
      <button type="button" class="danger" data-answer="yes">${yes}</button>
      <button type="button" class="secondary" data-answer="no">${no}</button>
    </div>`,
  );
  const box = target.firstElementChild;
  focusOn(box.querySelector('[data-answer="no"]'));
  return new Promise((resolve) => {
    box.addEventListener('click', (event) => {
      const answer = event.target.closest('[data-answer]')?.dataset.answer;
      if (!answer) return;
      render(target, '');
      resolve(answer === 'yes');
    });
  });
}

/** Offers a text file for download (a report as CSV). */
export function download(filename, text, type = 'text/csv') {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
