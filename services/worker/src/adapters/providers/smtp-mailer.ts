import nodemailer, { type Transporter } from 'nodemailer';
import type { IncomingStudent } from '@cupo/contracts';
import { ProviderRejectedError, ProviderUnavailableError, type Mailer, type ProviderCall } from '../../app/onboarding/ports.js';
import { ProviderAwayError } from './http.js';

export interface SmtpOptions {
  url: string;
  from: string;
  /** Bounds connecting, the greeting and every wait on the socket (nodemailer's defaults run to minutes). */
  timeoutMs: number;
}

/** The welcome e-mail over SMTP (nodemailer). A 4xx answer is retried, a 5xx is final; no answer (or 421) counts against the `email` breaker. */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(private readonly options: SmtpOptions) {
    this.transport = nodemailer.createTransport({
      url: options.url,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async sendWelcome(student: IncomingStudent, upn: string, call: ProviderCall): Promise<{ messageId: string }> {
    // The Message-ID is the student's: a resend after a crash is recognisable downstream.
    const messageId = `<welcome.${student.id.toLowerCase()}@cupo>`;
    await call('send', async () => {
      try {
        await this.transport.sendMail({
          from: this.options.from,
          to: student.email,
          subject: 'Welcome to Cupo',
          messageId,
          text: `Hello ${student.name},\n\nyour account ${upn} is ready. Sign in and change your password.\n`,
        });
      } catch (error) {
        const code = Number((error as { responseCode?: number }).responseCode ?? 0);
        if (code >= 500) throw new ProviderRejectedError(`mail to ${student.email} refused: ${code}`);
        // No answer at all (connection, timeout) or 421 "service not available": the server is away.
        if (code === 0 || code === 421) throw new ProviderAwayError(`mail to ${student.email} failed: ${(error as Error).message}`);
        throw new ProviderUnavailableError(`mail to ${student.email} failed: ${(error as Error).message}`);
      }
    });
    return { messageId };
  }

  close(): void {
    this.transport.close();
  }
}
