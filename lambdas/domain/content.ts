/** Message content rules (docs/protocol.md, "Messages"). */

import { imageSize } from 'image-size';
import type { MessageContentValue } from '../../protocol/index.ts';
import { MAX_IMAGE_BYTES, MAX_INLINE_CONTENT_BYTES, MAX_TEXT_CHARACTERS } from '../../protocol/limits.ts';
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
    // Each within its limit, both together may still not fit one frame.
    const bytes = Buffer.byteLength(JSON.stringify(content.text ?? '')) + Buffer.byteLength(content.image);
    if (bytes > MAX_INLINE_CONTENT_BYTES) {
      throw new PayloadTooLargeError(
        `Text and image together are ${bytes} bytes as sent; at most ${MAX_INLINE_CONTENT_BYTES} fit one 32 KB ` +
          'frame. Send the text as its own message, or upload the image with createUpload and send its mediaId.',
      );
    }
    checkImage(content.image, 'content.image');
  }
}

/** The image types inline images may be, as image-size names them, and their data URL subtype. */
const INLINE_TYPES: Readonly<Record<string, string>> = { png: 'png', jpg: 'jpeg', gif: 'gif', webp: 'webp' };

/**
 * An inline image: a base64 string or a `data:image/{png,jpeg,gif,webp};base64,` URL of at most
 * MAX_IMAGE_BYTES (one 32 KB client frame), whose bytes are a PNG, JPEG, GIF or WebP image (of the
 * data URL's type, if it names one): an image's header, read by image-size, not just its name.
 */
export function checkImage(image: string, field: string): void {
  const bytes = Buffer.byteLength(image);
  if (bytes > MAX_IMAGE_BYTES) {
    throw new PayloadTooLargeError(
      `${field} is ${bytes} bytes; inline images are limited to ${MAX_IMAGE_BYTES} bytes (about 18 KB of image, ` +
        'one 32 KB frame). Send a smaller image, or upload it with createUpload and send its mediaId.',
    );
  }
  const dataUrl = DATA_URL.exec(image);
  const base64 = dataUrl?.[2] ?? image;
  if (!BASE64.test(base64) || base64.length % 4 !== 0) {
    throw new BadRequestError(
      `${field} must be base64 or a data URL like data:image/png;base64,… (png, jpeg, gif or webp)`,
    );
  }
  const declared = dataUrl?.[1];
  const actual = inlineTypeOf(Buffer.from(base64, 'base64'));
  if (actual === undefined || (declared !== undefined && declared !== actual)) {
    throw new BadRequestError(
      `${field} must hold the bytes of a ${declared ?? 'png, jpeg, gif or webp'} image` +
        (actual === undefined ? '' : `, not a ${actual} image`),
    );
  }
}

/** png, jpeg, gif or webp when the bytes start like one with a size; undefined for anything else. */
function inlineTypeOf(bytes: Buffer): string | undefined {
  try {
    const { type, width, height } = imageSize(bytes);
    return type !== undefined && width > 0 && height > 0 ? INLINE_TYPES[type] : undefined;
  } catch {
    return undefined;
  }
}
