import express from 'express';
import { Recorder, behaviourFromEnv, listen } from './behaviour.js';

/**
 * A Moodle web-services stand-in: `POST /webservice/rest/server.php` with `wstoken`,
 * `wsfunction` and `moodlewsrestformat=json`, form-encoded as Moodle expects, for
 * core_user_get_users_by_field, core_user_create_users and enrol_manual_enrol_users. Errors
 * come back as Moodle's exception objects (HTTP 200), refusals as 429/503.
 */
const recorder = new Recorder(behaviourFromEnv());
const users = new Map<string, { id: number; username: string; email: string }>();
const enrolments = new Set<string>();
let nextId = 2;
const app = express();
recorder.mountAdmin(app);

const exception = (errorcode: string, message: string) => ({ exception: 'moodle_exception', errorcode, message });

app.post('/webservice/rest/server.php', express.urlencoded({ extended: true }), async (req, res) => {
  const body = req.body as {
    wsfunction?: string;
    wstoken?: string;
    values?: string[];
    users?: Record<string, string>[];
    enrolments?: Record<string, string>[];
  };
  const fn = String(body.wsfunction ?? req.query.wsfunction ?? '');
  if (!body.wstoken && !req.query.wstoken) return void res.json(exception('invalidtoken', 'Invalid token - token not found'));
  const subject =
    fn === 'core_user_create_users'
      ? body.users?.[0]?.username
      : fn === 'core_user_get_users_by_field'
        ? body.values?.[0]
        : fn === 'enrol_manual_enrol_users'
          ? [...users.values()].find((u) => String(u.id) === String(body.enrolments?.[0]?.userid))?.username
          : undefined;
  const verdict = await recorder.gate(fn, subject);
  if (verdict) {
    if (verdict.retryAfter !== undefined) res.set('Retry-After', String(verdict.retryAfter));
    return void res.status(verdict.status).json(exception('servicebusy', 'stand-in refusal'));
  }
  switch (fn) {
    case 'core_user_get_users_by_field': {
      const found = ((body.values ?? []) as string[]).map((v) => users.get(v)).filter(Boolean);
      return void res.json(found);
    }
    case 'core_user_create_users': {
      const created = [];
      for (const user of (body.users ?? []) as Record<string, string>[]) {
        if (users.has(user.username!)) return void res.json(exception('invalidparameter', `Username already exists: ${user.username}`));
        const record = { id: nextId++, username: user.username!, email: user.email! };
        users.set(record.username, record);
        created.push({ id: record.id, username: record.username });
      }
      await recorder.lateReply(fn);
      return void res.json(created);
    }
    case 'enrol_manual_enrol_users': {
      for (const e of (body.enrolments ?? []) as Record<string, string>[]) enrolments.add(`${e.userid}:${e.courseid}`);
      return void res.json(null);
    }
    default:
      return void res.json(exception('invalidrecord', `Can't find data record in database table external_functions. (${fn})`));
  }
});

listen(app, Number(process.env.PORT ?? 9502), 'moodle');
