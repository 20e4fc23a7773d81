// Asking before something that cannot be taken back (cancel, drop, purge), then doing it.

import { busy, confirmInline, focusOn, notice } from '../dom.js';
import { explain } from '../words.js';

/**
 * Asks `question` in `result`; on "no" says `kept` and returns focus to `button`; on "yes"
 * runs `send()` with the button busy. Resolves to the answer when it succeeded, else null
 * (the refusal is said in `result`).
 */
export async function askThenSend(result, button, { question, yes, no, kept, send }) {
  if (!(await confirmInline(result, { question, yes, no }))) {
    notice(result, 'info', kept);
    focusOn(button);
    return null;
  }
  busy(button, true);
  const answer = await send();
  busy(button, false);
  if (answer.ok) return answer;
  notice(result, 'bad', explain(answer), { focus: true });
  return null;
}
