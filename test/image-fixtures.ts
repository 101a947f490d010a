/**
 * Inline images for tests: the checks want real image bytes (lambdas/domain/content.ts), so
 * each starts with a 1×1 PNG's signature and header chunk; the filler after it varies the image.
 */

/** Base64 of a 1×1 PNG's signature and IHDR chunk (33 bytes, 44 characters, no padding). */
export const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ';

/** A PNG data URL: the header, then `fill` repeated `length` times (`length` a multiple of 4 keeps it base64). */
export const pngDataUrl = (fill = 'A', length = 400): string =>
  `data:image/png;base64,${PNG_BASE64}${fill.repeat(length)}`;
