/**
 * DynamoDB item sizes, by the published rules
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * each attribute counts its name's UTF-8 bytes plus its value; a string its UTF-8 bytes, a
 * number about one byte per two significant digits plus one, binary its bytes, a boolean or
 * null one byte, a list or map 3 bytes plus one per element plus the elements (a map also
 * its keys), a set the sum of its members. A write costs 1 WRU per started KB of the larger
 * of the old and new item; a read 0.5 RRU (eventually consistent) per started 4 KB.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

function numberSize(value: string): number {
  const digits = value
    .replace(/^-/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((a, s) => a + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((a, n) => a + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((a, b) => a + b.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((a, v) => a + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length;
  return 0;
}

/** Bytes of a (marshalled) item as DynamoDB counts them. */
export function itemSize(item: Readonly<Record<string, AttributeValue>>): number {
  return Object.entries(item).reduce((a, [name, value]) => a + Buffer.byteLength(name) + valueSize(value), 0);
}

/** Write request units of a standard write of an item of `bytes`. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/** Read request units of an eventually consistent read of an item of `bytes`. */
export function readUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096)) / 2;
}
