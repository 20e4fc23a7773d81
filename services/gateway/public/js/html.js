// Markup from templates: every interpolated value is text, escaped, unless it is itself
// html`…` (or a list of them). Attribute values must be quoted; quotes are escaped too.

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

function encode(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(encode).join('');
  if (value === undefined || value === null || value === false) return '';
  return String(value).replace(/[&<>"'`]/g, (c) => ENTITIES[c]);
}

/** html`<p>${name}</p>`: a fragment whose values cannot become markup. */
export function html(strings, ...values) {
  let text = strings[0];
  values.forEach((value, i) => {
    text += encode(value) + strings[i + 1];
  });
  return new Markup(text);
}

/** Replaces an element's content with a fragment (a plain string is shown as text). */
export function render(target, fragment) {
  target.innerHTML = encode(fragment);
  return target;
}

/** Appends a fragment at the end of an element. */
export function append(target, fragment) {
  target.insertAdjacentHTML('beforeend', encode(fragment));
}
