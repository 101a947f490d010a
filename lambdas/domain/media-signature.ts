/**
 * Are these bytes what their declared type says? The first bytes of a file carry its signature
 * ("magic number"); `file-type` knows 180 of them and `image-size` reads an image's dimensions
 * from its header. Used for uploads (lambdas/domain/media.ts) and inline images (content.ts).
 */
import { imageSize } from 'image-size';
import { IMAGE_CONTENT_TYPES } from '../../protocol/limits.ts';
import { BadRequestError } from '../shared/errors.ts';

/**
 * How many first bytes are read: signatures sit in the first few hundred; a JPEG's size sits
 * after its EXIF and colour profile, which fit here in the photos of common cameras and phones.
 */
export const SIGNATURE_BYTES = 128 * 1024;

/** Types that are ZIP files inside: file-type may name them `application/zip` from the first bytes. */
const ZIP_CONTAINER = /zip|openxmlformats|opendocument|epub|java-archive|android\.package/;

const isImage = (type: string) => (IMAGE_CONTENT_TYPES as readonly string[]).includes(type);

/**
 * Checks `head` (a file's first bytes) against `contentType`:
 * - an image type needs that image's signature, and yields its width and height;
 * - another type must not be an image in disguise nor claim a type whose signature is missing
 *   (a `%PDF` file is a PDF); types file-type cannot recognise (text, CSV, …) pass as declared,
 *   and are served as downloads (`Content-Disposition: attachment`), never rendered.
 * @throws BadRequestError
 */
export async function checkSignature(
  head: Uint8Array,
  contentType: string,
): Promise<{ width?: number; height?: number }> {
  // Loaded on first use: the functions that attach media do so now and then (see media-objects.ts).
  const { fileTypeFromBuffer, supportedMimeTypes } = await import('file-type');
  const detected = (await fileTypeFromBuffer(head))?.mime;
  if (isImage(contentType)) {
    if (detected !== contentType) {
      throw new BadRequestError(
        `The file is declared ${contentType} but its bytes are ${detected ?? 'not an image of a known type'}`,
      );
    }
    return dimensionsOf(head);
  }
  if (contentType === 'application/octet-stream') return {};
  if (detected === undefined) {
    if ((supportedMimeTypes as ReadonlySet<string>).has(contentType)) {
      throw new BadRequestError(`The file is declared ${contentType} but its bytes do not start like one`);
    }
    return {};
  }
  if (detected === contentType) return {};
  if (detected === 'application/zip' && ZIP_CONTAINER.test(contentType)) return {};
  if (isImage(detected) || (supportedMimeTypes as ReadonlySet<string>).has(contentType)) {
    throw new BadRequestError(`The file is declared ${contentType} but its bytes are ${detected}`);
  }
  return {};
}

/** Width and height from an image's header; none when the header lies beyond the bytes read. */
function dimensionsOf(head: Uint8Array): { width?: number; height?: number } {
  try {
    const { width, height } = imageSize(head);
    return width > 0 && height > 0 ? { width, height } : {};
  } catch {
    return {};
  }
}
