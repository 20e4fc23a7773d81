// CSV in and out: a student list an admin pastes or uploads, a report to download.

/** Splits one CSV line (quotes allowed, "" inside quotes is a quote). */
function cells(line) {
  const out = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) {
      out.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  out.push(cell.trim());
  return out;
}

const ID = /^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Students from CSV text, one a line: id, name, e-mail (a header line naming them is skipped,
 * and its order followed). Returns the students and, for each line that is not one, why.
 */
export function parseStudents(text) {
  const lines = text
    .split(/\r?\n/)
    .map((line, i) => ({ number: i + 1, values: cells(line) }))
    .filter((l) => l.values.some(Boolean));
  let order = { id: 0, name: 1, email: 2 };
  const header = lines[0]?.values.map((v) => v.toLowerCase().replace(/[^a-z]/g, ''));
  if (header && header.includes('email') && header.some((h) => h === 'id' || h === 'studentid')) {
    order = { id: header.findIndex((h) => h === 'id' || h === 'studentid'), name: header.indexOf('name'), email: header.indexOf('email') };
    lines.shift();
  }
  const students = [];
  const problems = [];
  const seen = new Set();
  for (const { number, values } of lines) {
    const student = { id: values[order.id] ?? '', name: values[order.name] ?? '', email: values[order.email] ?? '' };
    if (!ID.test(student.id)) problems.push(`Line ${number}: “${student.id}” is not a student id (letters, digits, . _ -).`);
    else if (!student.name) problems.push(`Line ${number}: the name is missing.`);
    else if (!EMAIL.test(student.email)) problems.push(`Line ${number}: “${student.email}” is not an e-mail address.`);
    else if (seen.has(student.id)) problems.push(`Line ${number}: ${student.id} is listed twice.`);
    else {
      seen.add(student.id);
      students.push(student);
    }
  }
  return { students, problems };
}

const quote = (value) => {
  const text = String(value ?? '');
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** Rows as CSV with a header line; `columns` is [{key, label}]. */
export function toCsv(rows, columns) {
  const lines = [columns.map((c) => quote(c.label)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => quote(row[c.key])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
