import express from 'express';
import { SMTPServer } from 'smtp-server';
import { Recorder, behaviourFromEnv, listen, listenHost } from './behaviour.js';

/**
 * An SMTP sink (smtp-server): accepts mail for anyone and keeps who got what, which tests read
 * over HTTP at /_calls. A recipient listed in FAIL_FOR is refused with a 550, as a real
 * server refuses a bad mailbox.
 */
const recorder = new Recorder(behaviourFromEnv());
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onRcptTo(address, _session, callback) {
    if (recorder.behaviour.failFor.includes(address.address)) {
      const error = new Error('Mailbox unavailable') as Error & { responseCode: number };
      error.responseCode = 550;
      return callback(error);
    }
    callback();
  },
  onData(stream, session, callback) {
    let raw = '';
    stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    stream.on('end', async () => {
      const messageId = /^message-id:\s*(.+)$/im.exec(raw)?.[1]?.trim();
      const to = session.envelope.rcptTo.map((r) => r.address).join(',');
      const verdict = await recorder.gate('mail.send', to);
      recorder.calls.at(-1)!.subject = `${to} ${messageId ?? ''}`.trim();
      if (verdict) {
        const error = new Error('Service busy') as Error & { responseCode: number };
        error.responseCode = verdict.status === 429 ? 421 : 451;
        return callback(error);
      }
      callback();
    });
  },
});
smtp.listen(Number(process.env.SMTP_PORT ?? 2525), listenHost());

const app = express();
recorder.mountAdmin(app);
listen(app, Number(process.env.PORT ?? 9504), 'smtp');
