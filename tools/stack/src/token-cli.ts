import { parseArgs } from 'node:util';
import { signToken } from './token.js';

/** `make token SUB=guest-1 ROLE=guest`: prints a development JWT. */
const { values } = parseArgs({
  options: { sub: { type: 'string', default: 'guest-1' }, role: { type: 'string', default: 'guest' } },
});
const role = values.role as 'guest' | 'student' | 'admin';
if (!['guest', 'student', 'admin'].includes(role)) {
  console.error('role must be guest, student or admin');
  process.exit(2);
}
console.log(await signToken({ sub: values.sub!, role }));
