/** The e-mails accounts send, in text and HTML. Whatever a user typed is escaped in the HTML. */
import type { Mail } from './ports.ts';

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function html(title: string, paragraphs: readonly string[]): string {
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>',
    escapeHtml(title),
    '</title></head><body style="font-family: sans-serif; line-height: 1.5">',
    ...paragraphs.map((p) => `<p>${p}</p>`),
    '</body></html>',
  ].join('');
}

export interface CodeMailInput {
  readonly to: string;
  readonly name: string;
  readonly username: string;
  readonly code: string;
  readonly validMinutes: number;
}

/** The code that finishes a sign-up. It names the username, so nobody confirms a sign-up that is not theirs. */
export function codeMail({ to, name, username, code, validMinutes }: CodeMailInput): Mail {
  const subject = `Your Parley code: ${code}`;
  const text = [
    `Hi ${name},`,
    '',
    `your code to finish signing up to Parley as @${username} is:`,
    '',
    `    ${code}`,
    '',
    `It is valid for ${validMinutes} minutes and can be used once.`,
    '',
    `If you did not sign up as @${username}, ignore this e-mail: without the code no account is created, and nobody can sign in with this address.`,
  ].join('\n');
  return {
    to,
    subject,
    text,
    html: html(subject, [
      `Hi ${escapeHtml(name)},`,
      `your code to finish signing up to Parley as <b>@${escapeHtml(username)}</b> is:`,
      `<span style="font-size: 28px; letter-spacing: 6px; font-weight: bold">${code}</span>`,
      `It is valid for ${validMinutes} minutes and can be used once.`,
      `If you did not sign up as @${escapeHtml(username)}, ignore this e-mail: without the code no account is created, and nobody can sign in with this address.`,
    ]),
  };
}

/** Sent instead of a code when someone signs up with an address that already has an account. */
export function signUpAttemptMail(to: string): Mail {
  const subject = 'Someone tried to sign up to Parley with your address';
  const paragraphs = [
    'Hi,',
    'someone just tried to create a Parley account with this e-mail address, which already has one. No new account was created and your account is unchanged.',
    'If it was you, sign in with your password instead.',
    'If it was not you, you can ignore this e-mail.',
  ];
  return { to, subject, text: paragraphs.join('\n\n'), html: html(subject, paragraphs) };
}
