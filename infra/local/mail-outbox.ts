/**
 * The local stand-in for SES: the handlers' real `SESClient` posts `SendEmail` (AWS Query
 * protocol) here through `AWS_ENDPOINT_URL_SES`. Every mail is kept, its verification code
 * (if any) printed to the console, and all of them listed as JSON at
 * `GET /_local/outbox?to=<address>` — a route of the local stack only.
 */
import { randomUUID } from 'node:crypto';
import type { HttpResponse, HttpRouter } from './http-server.ts';

export interface LocalMail {
  readonly messageId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The first 6-digit number of the text, which is what verification mails carry. */
  readonly code?: string;
  readonly sentAt: string;
}

const SES_NAMESPACE = 'http://ses.amazonaws.com/doc/2010-12-01/';

function xml(status: number, body: string): HttpResponse {
  return { status, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0"?>\n${body}` };
}

function sesError(code: string, message: string): HttpResponse {
  return xml(
    400,
    `<ErrorResponse xmlns="${SES_NAMESPACE}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

export class MailOutbox {
  readonly mails: LocalMail[] = [];
  private failures = 0;

  constructor(private readonly print: boolean) {}

  /** Makes the next `count` sends fail as SES does when it rejects a message. */
  failNextSends(count = 1): void {
    this.failures += count;
  }

  /** The mails sent to `address` (case-insensitive), oldest first. */
  to(address: string): LocalMail[] {
    const wanted = address.toLowerCase();
    return this.mails.filter((mail) => mail.to.some((to) => to.toLowerCase() === wanted));
  }

  receive(form: URLSearchParams): HttpResponse {
    if (this.failures > 0) {
      this.failures -= 1;
      return sesError('MessageRejected', 'Injected failure of the local mail outbox');
    }
    const to = [...form.entries()]
      .filter(([key]) => key.startsWith('Destination.ToAddresses.member.'))
      .map(([, v]) => v);
    const text = form.get('Message.Body.Text.Data') ?? '';
    const mail: LocalMail = {
      messageId: randomUUID(),
      from: form.get('Source') ?? '',
      to,
      subject: form.get('Message.Subject.Data') ?? '',
      text,
      html: form.get('Message.Body.Html.Data') ?? '',
      code: /\b(\d{6})\b/.exec(text)?.[1],
      sentAt: new Date().toISOString(),
    };
    if (to.length === 0 || mail.from === '')
      return sesError('InvalidParameterValue', 'Missing Source or destination');
    this.mails.push(mail);
    if (this.print) {
      console.log(`[mail] to ${to.join(', ')}: "${mail.subject}"${mail.code ? `  code ${mail.code}` : ''}`);
    }
    return xml(
      200,
      `<SendEmailResponse xmlns="${SES_NAMESPACE}"><SendEmailResult><MessageId>${mail.messageId}</MessageId></SendEmailResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></SendEmailResponse>`,
    );
  }
}

/** Adds SES `SendEmail` and `GET /_local/outbox` to the local HTTP server. */
export function addMailOutbox(router: HttpRouter, options: { print: boolean }): MailOutbox {
  const outbox = new MailOutbox(options.print);
  router.awsQueryAction('SendEmail', (request) => outbox.receive(request.form()));
  router.route('GET', '/_local/outbox', (request) => {
    const to = request.query.get('to');
    return { status: 200, body: { mails: to ? outbox.to(to) : outbox.mails } };
  });
  return outbox;
}
