/**
 * Two focused measurements beside the main passes:
 *
 * - the message item: how many bytes a stored message takes besides its text, so how long a
 *   text still fits in one write unit, checked by sending texts on both sides of that limit;
 * - the presence item's weight: every send reads the two users' presence items and every
 *   connect and disconnect rewrites one, and DynamoDB bills them by the whole item's size, so
 *   what those items carry (the `follows` copy) shows up in the cost of every message.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ParleyClient } from '../client/index.ts';
import type { InvocationRecord } from '../infra/local/metrics.ts';
import type { LocalStack } from '../infra/local/stack.ts';
import { signLocalToken } from '../infra/local/tokens.ts';
import { MAX_IMAGE_BYTES } from '../protocol/limits.ts';
import { meansOf, usageOf } from './analysis.ts';
import { extrasOf } from './instrument.ts';
import { itemSize, readUnits, writeUnits } from './item-size.ts';
import type { Device, Population } from './workload.ts';

function finished(stack: LocalStack, route: string): InvocationRecord[] {
  return stack.metrics.forRoute(route).filter((r) => r.durationMs !== undefined);
}

async function send(from: Device, to: string, recipients: readonly Device[], text: string) {
  const events = recipients.map((d) =>
    d.client.waitFor('message', (e) => e.message.content?.text === text, 15_000),
  );
  const { message } = await from.client.request('sendMessage', { to, content: { text } });
  await Promise.all(events);
  return message;
}

export interface MessageItemResult {
  /** Bytes DynamoDB counts for a stored message of `probeTextBytes` bytes of text. */
  readonly itemBytes: number;
  readonly probeTextBytes: number;
  /** itemBytes − probeTextBytes: keys, ids, times and attribute names. */
  readonly overheadBytes: number;
  /** The longest ASCII text whose message is one write unit (table) and one more for the index. */
  readonly oneUnitTextBytes: number;
  /** Sends at and just past that length, with the write units DynamoDB Local reported. */
  readonly boundary: { textBytes: number; tableWriteUnits: number; indexWriteUnits: number }[];
  /** A message with an inline image of `imageBytes` (base64): what its write costs, table and index. */
  readonly image: { imageBytes: number; tableWriteUnits: number; indexWriteUnits: number };
}

export async function measureMessageItem(
  stack: LocalStack,
  population: Population,
): Promise<MessageItemResult> {
  const [a, b] = population.users as [string, string];
  const sender = population.devices.get(a)?.[0] as Device;
  const recipients = population.devices.get(b) ?? [];
  const dynamo = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, credentials: stack.dynamoCredentials });
  try {
    const probeText = 'p'.repeat(100);
    const probe = await send(sender, b, recipients, probeText);
    const { Item } = await dynamo.send(
      new GetItemCommand({
        TableName: stack.tables.messages,
        Key: { pk: { S: probe.conversationId }, sk: { S: probe.messageId } },
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new Error('The probe message is not stored under its conversation and id');
    const itemBytes = itemSize(Item);
    const overheadBytes = itemBytes - Buffer.byteLength(probeText);
    const oneUnitTextBytes = 1024 - overheadBytes;
    const lastPut = () => {
      const put = finished(stack, 'sendMessage')
        .flatMap((r) => extrasOf(r).dynamo)
        .find((r) => r.operation === 'PutItem');
      return {
        tableWriteUnits: put?.tableWriteUnits ?? Number.NaN,
        indexWriteUnits: Object.values(put?.indexWriteUnits ?? {}).reduce((x, y) => x + y, 0),
      };
    };
    const boundary: MessageItemResult['boundary'] = [];
    for (const textBytes of [oneUnitTextBytes, oneUnitTextBytes + 1]) {
      stack.metrics.reset();
      await send(sender, b, recipients, 'b'.repeat(textBytes));
      boundary.push({ textBytes, ...lastPut() });
    }
    // An inline image of 27 KB of base64 (the most one 32 KB frame carries, MAX_IMAGE_BYTES): a
    // PNG's header, so the server's signature check takes it, then filler. With a caption to find its event by.
    const pngHeader = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ';
    const imageBytes = MAX_IMAGE_BYTES;
    stack.metrics.reset();
    const caption = 'bench image';
    const events = recipients.map((d) =>
      d.client.waitFor('message', (e) => e.message.content?.text === caption, 15_000),
    );
    await sender.client.request('sendMessage', {
      to: b,
      content: { text: caption, image: `${pngHeader}${'A'.repeat(imageBytes - pngHeader.length)}` },
    });
    await Promise.all(events);
    const image = { imageBytes, ...lastPut() };
    return { itemBytes, probeTextBytes: probeText.length, overheadBytes, oneUnitTextBytes, boundary, image };
  } finally {
    dynamo.destroy();
  }
}

export interface PresenceWeightRow {
  /** Users each of the two measured users follows. */
  readonly follows: number;
  /** Bytes of the sender's presence item (what DynamoDB bills reads and writes by). */
  readonly presenceItemBytes: number;
  readonly sendMessage: { readUnitsBilled: number; writeUnits: number };
  readonly authorizer: { readUnitsBilled: number };
  readonly connect: { writeUnits: number };
  readonly disconnect: { writeUnits: number };
  /** What the item size predicts for one presence read and one presence write. */
  readonly predicted: { presenceReadUnits: number; presenceWriteUnits: number };
}

/**
 * For each level of `follows` (ascending), the first two users of `population` follow that
 * many others (through the `follow` route), then send to each other and connect and
 * disconnect a device, and the capacity of each is recorded.
 */
export async function measurePresenceWeight(
  stack: LocalStack,
  population: Population,
  levels: readonly number[],
  sendsPerLevel = 10,
): Promise<PresenceWeightRow[]> {
  const [a, b, ...others] = population.users as [string, string, ...string[]];
  const deviceA = population.devices.get(a)?.[0] as Device;
  const deviceB = population.devices.get(b)?.[0] as Device;
  const dynamo = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, credentials: stack.dynamoCredentials });
  const rows: PresenceWeightRow[] = [];
  let followed = 0;
  try {
    for (const level of levels) {
      const targets = others.slice(followed, Math.min(level, others.length));
      await Promise.all(
        [deviceA, deviceB].map(async (device) => {
          for (const userId of targets) await device.client.request('follow', { userId });
        }),
      );
      followed = Math.max(followed, Math.min(level, others.length));

      stack.metrics.reset();
      for (let i = 0; i < sendsPerLevel; i += 1) {
        await send(deviceA, b, population.devices.get(b) ?? [], `weight ${level} #${i}`);
      }
      for (let i = 0; i < 3; i += 1) {
        const client = await ParleyClient.connect(stack.wsUrl, await signLocalToken(a));
        await client.close();
      }
      const deadline = Date.now() + 10_000;
      while (finished(stack, '$disconnect').length < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const { Item } = await dynamo.send(
        new GetItemCommand({
          TableName: stack.tables.presence,
          Key: { userId: { S: a } },
          ConsistentRead: true,
        }),
      );
      const bytes = Item ? itemSize(Item) : 0;
      const means = (route: string) => meansOf(finished(stack, route).map(usageOf));
      const sendMeans = means('sendMessage');
      rows.push({
        follows: followed,
        presenceItemBytes: bytes,
        sendMessage: { readUnitsBilled: sendMeans.readUnitsBilled, writeUnits: sendMeans.writeUnits },
        authorizer: { readUnitsBilled: means('$authorizer').readUnitsBilled },
        connect: { writeUnits: means('$connect').writeUnits },
        disconnect: { writeUnits: means('$disconnect').writeUnits },
        predicted: { presenceReadUnits: readUnits(bytes), presenceWriteUnits: writeUnits(bytes) },
      });
    }
    return rows;
  } finally {
    dynamo.destroy();
  }
}
