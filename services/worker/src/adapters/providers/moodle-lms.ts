import { randomBytes } from 'node:crypto';
import type { IncomingStudent } from '@cupo/contracts';
import { ProviderRejectedError, ProviderUnavailableError, type Lms, type ProviderCall } from '../../app/onboarding/ports.js';
import { exchange } from './http.js';

export interface MoodleOptions {
  /** e.g. https://lms.example.edu (…/webservice/rest/server.php is appended). */
  baseUrl: string;
  token: string;
  /** The course every new student is enrolled in, as the student role (5). */
  welcomeCourseId: number;
  timeoutMs: number;
}

const USERNAME_TAKEN = Symbol('username taken');

/**
 * The LMS over Moodle's web services (REST, form-encoded): look the user up by username,
 * create it if missing, enrol it manually in the welcome course. Moodle answers errors as
 * exception objects with HTTP 200, so the body decides.
 */
export class MoodleLms implements Lms {
  constructor(private readonly options: MoodleOptions) {}

  async ensureEnrolled(student: IncomingStudent, call: ProviderCall): Promise<{ userId: number; created: boolean }> {
    const username = student.id.toLowerCase();
    const found = await call('get user', () => this.invoke('core_user_get_users_by_field', { field: 'username', 'values[0]': username }));
    let userId: number | undefined = Array.isArray(found) && found[0] ? Number(found[0].id) : undefined;
    let created = false;
    if (userId === undefined) {
      const [firstName, ...rest] = student.name.split(' ');
      const result = await call('create user', () =>
        this.invoke('core_user_create_users', {
          'users[0][username]': username,
          'users[0][firstname]': firstName ?? student.name,
          'users[0][lastname]': rest.join(' ') || '-',
          'users[0][email]': student.email,
          'users[0][auth]': 'manual',
          'users[0][password]': `${randomBytes(9).toString('base64url')}aA1!`,
        }),
      );
      if (result === USERNAME_TAKEN) {
        // Our own earlier request created it (its answer was lost): the username is the
        // student's id, so the user there is ours. Found, not a failure.
        const again = await call('get user', () =>
          this.invoke('core_user_get_users_by_field', { field: 'username', 'values[0]': username }),
        );
        if (!Array.isArray(again) || !again[0]) throw new ProviderUnavailableError(`LMS says ${username} exists but cannot find it yet`);
        userId = Number(again[0].id);
      } else {
        userId = Number((result as { id: unknown }[])[0]!.id);
        created = true;
      }
    }
    await call('enrol', () =>
      this.invoke('enrol_manual_enrol_users', {
        'enrolments[0][roleid]': '5',
        'enrolments[0][userid]': String(userId),
        'enrolments[0][courseid]': String(this.options.welcomeCourseId),
      }),
    );
    return { userId, created };
  }

  private async invoke(wsfunction: string, params: Record<string, string>): Promise<unknown> {
    const { status, body } = await exchange(
      `${this.options.baseUrl}/webservice/rest/server.php`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ wstoken: this.options.token, wsfunction, moodlewsrestformat: 'json', ...params }),
      },
      this.options.timeoutMs,
    );
    if (status !== 200) throw new ProviderRejectedError(`LMS ${wsfunction} answered ${status}`);
    if (body && typeof body === 'object' && 'exception' in body) {
      const { errorcode, message } = body as { errorcode?: unknown; message?: unknown };
      if (wsfunction === 'core_user_create_users' && errorcode === 'invalidparameter' && /username already exists/i.test(String(message))) {
        return USERNAME_TAKEN;
      }
      throw new ProviderRejectedError(`LMS ${wsfunction}: ${errorcode}: ${message}`);
    }
    return body;
  }
}
