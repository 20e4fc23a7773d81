import { IncomingStudent, type IncomingStudent as Student } from '@cupo/contracts';
import { z } from 'zod';
import type { StudentSource } from '../../app/onboarding/ports.js';
import { exchange } from './http.js';

/** The student-information source: `GET <url>/students`, validated before use. */
export class HttpStudentSource implements StudentSource {
  constructor(private readonly options: { url: string; timeoutMs: number }) {}

  async fetchStudents(): Promise<Student[]> {
    const { status, body } = await exchange(`${this.options.url}/students`, { method: 'GET' }, this.options.timeoutMs);
    if (status !== 200) throw new Error(`student-information source answered ${status}`);
    return z.array(IncomingStudent).parse(body);
  }
}
