/** Typing indicators end to end: a one-way route over real sockets, pushed and never stored. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReplyFrame } from '../../protocol/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());
afterEach(() => h.cleanUp());

describe('typing', () => {
  it('reaches the other user’s devices, answers the typist nothing, and reads one request, writing none', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const typist = await h.connect(ann);
    const phone = await h.connect(bob);
    const tablet = await h.connect(bob);
    const replies: ReplyFrame[] = [];
    typist.on('reply', (reply) => replies.push(reply));

    typist.send('typing', { to: bob });
    const expected = { conversationId: [ann, bob].sort().join('#'), userId: ann };
    for (const device of [phone, tablet]) {
      expect(await device.waitFor('typing', (e) => e.userId === ann)).toEqual(expected);
    }
    const record = await h.stack.metrics.waitFor('typing');
    expect(record.outcome).toBe('ok');
    expect(record.dynamoCommands).toEqual(['BatchGetItem']);
    expect(record.managementPosts).toBe(2);
    // A request after it is answered; the typing frame never was.
    await typist.request('ping', {});
    expect(replies.map((r) => r.action)).toEqual(['ping']);
  });

  it('tells nobody across a block', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const typist = await h.connect(ann);
    const blocker = await h.connect(bob);
    await blocker.request('block', { userId: ann });
    typist.send('typing', { to: bob });
    const record = await h.stack.metrics.waitFor('typing');
    expect(record.managementPosts).toBe(0);
    // Sent after the typing frame's handler finished: the first event bob sees is this message.
    await blocker.request('unblock', { userId: ann });
    await typist.request('sendMessage', { to: bob, content: { text: 'after' } });
    const first = await blocker.waitFor('message', () => true);
    expect(first.message.content?.text).toBe('after');
    expect(blocker.received('typing')).toEqual([]);
  });
});
