/**
 * Every sendMessage frame the server would accept fits API Gateway's 32 KB client frame (issue 13,
 * item 7): text and inline image are bounded together, so a client never builds a valid message
 * that the gateway must close with 1009.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkContent } from '../../lambdas/domain/content.ts';
import { PayloadTooLargeError } from '../../lambdas/shared/errors.ts';
import { MAX_IMAGE_BYTES, MAX_INLINE_CONTENT_BYTES, MAX_TEXT_CHARACTERS } from '../../protocol/limits.ts';
import { PNG_BASE64 } from '../image-fixtures.ts';

/** API Gateway's limit on one client frame. */
const FRAME_BYTES = 32 * 1024;
const PREFIX = `data:image/png;base64,${PNG_BASE64}`;

/** An inline PNG data URL of exactly `bytes` bytes (rounded down to whole base64 quads). */
const imageOf = (bytes: number) =>
  `${PREFIX}${'A'.repeat(Math.max(0, Math.floor((bytes - PREFIX.length) / 4) * 4))}`;

/** The longest envelope: the longest ids the schemas accept, escaped as badly as JSON can. */
function frameOf(
  content: { text?: string; image?: string },
  requestId: string,
  clientMessageId: string,
): string {
  const user = 'u'.repeat(128);
  return JSON.stringify({
    action: 'sendMessage',
    requestId,
    data: {
      conversationId: `${user}#${user.replace(/u/g, 'v')}`,
      replyTo: `01ARZ3NDEKTSV4RRFFQ69G5FAV.${user}~${user}`,
      clientMessageId,
      content,
    },
  });
}

const accepted = (content: { text?: string; image?: string }) => {
  try {
    checkContent(content);
    return true;
  } catch (error) {
    if (error instanceof PayloadTooLargeError) return false;
    throw error;
  }
};

describe('the frame budget of sendMessage', () => {
  it('fits every accepted text and inline image, with the worst envelope, into one 32 KB frame', () => {
    // Control characters JSON-escape to 6 bytes each: the most bytes a 128-character id can take.
    const worstId = '\u0001'.repeat(128);
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: MAX_TEXT_CHARACTERS }),
        fc.integer({ min: PREFIX.length, max: MAX_IMAGE_BYTES }),
        (text, imageBytes) => {
          const content = { text, image: imageOf(imageBytes) };
          if (!accepted(content)) return;
          expect(Buffer.byteLength(frameOf(content, worstId, worstId))).toBeLessThanOrEqual(FRAME_BYTES);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('takes the most text and image that fit, and refuses one byte more with a message that says what to do', () => {
    const text = '\u0001'.repeat(MAX_TEXT_CHARACTERS); // 24,002 bytes as JSON
    const room = MAX_INLINE_CONTENT_BYTES - Buffer.byteLength(JSON.stringify(text));
    const fits = { text, image: imageOf(room) };
    expect(accepted(fits)).toBe(true);
    const worstId = '\u0001'.repeat(128);
    expect(Buffer.byteLength(frameOf(fits, worstId, worstId))).toBeLessThanOrEqual(FRAME_BYTES);

    const over = {
      text: `${text.slice(0, -1)}\u0001\u0001`.slice(0, MAX_TEXT_CHARACTERS),
      image: imageOf(room + 4),
    };
    expect(() => checkContent(over)).toThrow(/createUpload/);
    // The longest plain text and the largest inline image together are still taken.
    expect(accepted({ text: 'x'.repeat(MAX_TEXT_CHARACTERS), image: imageOf(MAX_IMAGE_BYTES) })).toBe(true);
  });
});
