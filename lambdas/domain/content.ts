/** Message content rules (docs/protocol.md, "Messages"). */

import type { MessageContentValue } from '../../protocol/index.ts';
import { MAX_IMAGE_BYTES, MAX_TEXT_CHARACTERS } from '../../protocol/limits.ts';
import { BadRequestError, PayloadTooLargeError } from '../shared/errors.ts';

const DATA_URL = /^data:image\/(png|jpeg|gif|webp);base64,([A-Za-z0-9+/]+={0,2})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Checks sizes first (an oversize payload answers PAYLOAD_TOO_LARGE whatever else is wrong),
 * then the image encoding.
 * @throws PayloadTooLargeError, BadRequestError
 */
export function checkContent(content: MessageContentValue): void {
  if (content.text !== undefined) {
    const characters = [...content.text].length;
    if (characters > MAX_TEXT_CHARACTERS) {
      throw new PayloadTooLargeError(
        `Text is ${characters} characters; the limit is ${MAX_TEXT_CHARACTERS}. Split it into several messages.`,
      );
    }
  }
  if (content.image !== undefined) {
    checkImage(content.image, 'content.image');
  }
}

/** An inline image: a base64 string or a `data:image/{png,jpeg,gif,webp};base64,` URL of at most 64 KB. */
export function checkImage(image: string, field: string): void {
  const bytes = Buffer.byteLength(image);
  if (bytes > MAX_IMAGE_BYTES) {
    throw new PayloadTooLargeError(
      `${field} is ${bytes} bytes; inline images are limited to ${MAX_IMAGE_BYTES} bytes (64 KB). Send a smaller image.`,
    );
  }
  const base64 = DATA_URL.exec(image)?.[2] ?? image;
  if (!BASE64.test(base64) || base64.length % 4 !== 0) {
    throw new BadRequestError(
      `${field} must be base64 or a data URL like data:image/png;base64,… (png, jpeg, gif or webp)`,
    );
  }
}
