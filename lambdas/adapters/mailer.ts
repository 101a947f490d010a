/**
 * E-mail through SES `SendEmail`, from the address in `SENDER_EMAIL`, through the configuration
 * set in `SES_CONFIGURATION_SET` when it is set (bounces and complaints). The endpoint comes
 * from the SDK's own configuration (`AWS_ENDPOINT_URL_SES` points it at the local outbox).
 */
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import type { Mail, Mailer } from '../domain/ports.ts';
import { requireEnv } from '../shared/env.ts';
import { ServiceUnavailableError } from '../shared/errors.ts';
import { logger } from '../shared/logger.ts';

const ses = new SESClient({});

export const MAIL_UNAVAILABLE_MESSAGE =
  'We could not send the e-mail just now. Nothing was changed; please try again shortly.';

/** Keeps addresses out of the logs. */
function redact(text: string): string {
  return text.replace(/[^\s@<>"']+@[^\s@<>"']+/g, '<address>');
}

export class SesMailer implements Mailer {
  /** A running estimate of how long a send takes, for `pace`. */
  private typicalSendMs = 150;

  constructor(
    private readonly client: SESClient = ses,
    private readonly sender: string = requireEnv('SENDER_EMAIL'),
    private readonly configurationSet: string | undefined = process.env.SES_CONFIGURATION_SET || undefined,
  ) {}

  async send(mail: Mail): Promise<void> {
    const started = performance.now();
    try {
      await this.client.send(
        new SendEmailCommand({
          Source: this.sender,
          ConfigurationSetName: this.configurationSet,
          Destination: { ToAddresses: [mail.to] },
          Message: {
            Subject: { Data: mail.subject, Charset: 'UTF-8' },
            Body: {
              Text: { Data: mail.text, Charset: 'UTF-8' },
              Html: { Data: mail.html, Charset: 'UTF-8' },
            },
          },
        }),
      );
    } catch (error) {
      const { name, message } = error as Error;
      logger.error('SES SendEmail failed', { errorName: name, errorMessage: redact(String(message)) });
      throw new ServiceUnavailableError(MAIL_UNAVAILABLE_MESSAGE, { cause: error });
    }
    this.typicalSendMs = 0.8 * this.typicalSendMs + 0.2 * (performance.now() - started);
  }

  async pace(): Promise<void> {
    const waitMs = this.typicalSendMs * (0.8 + 0.4 * Math.random());
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
