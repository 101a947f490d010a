/**
 * Profiles, following and last seen end to end: real WebSocket clients against the local
 * stack, with the DynamoDB requests of every call counted (the cost ceilings of
 * docs/architecture.md).
 */
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { pngDataUrl } from '../image-fixtures.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  h = await startHarness();
  dynamo = new DynamoDBClient({ endpoint: h.stack.dynamoEndpoint });
});
afterAll(async () => {
  dynamo?.destroy();
  await h?.stop();
});
beforeEach(() => h.stack.metrics.reset());
afterEach(() => h.cleanUp());

/** The DynamoDB requests of the last finished invocation of `routeKey`. */
function requestsOf(routeKey: string): number {
  const record = h.stack.metrics.last(routeKey);
  if (record === undefined) throw new Error(`No ${routeKey} invocation`);
  return record.dynamoRequests;
}

/** Connects and disconnects `userId`, so that they have a `lastSeen`; resolves with it. */
async function seen(userId: string): Promise<string> {
  const client = await h.connect(userId);
  const connectionId = h.connectionsOf(userId)[0];
  await client.close();
  await h.stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId, 30_000);
  const presence = (await h.items('presence')).find((item) => item.userId === userId);
  return presence?.lastSeen as string;
}

const PUBLIC_FIELDS = [
  'userId',
  'name',
  'family',
  'username',
  'photo',
  'biography',
  'lastSeen',
  'lastSeenVisibleTo',
];

describe('profiles', () => {
  it('getProfile answers only the public fields, in one request', async () => {
    const [pam, patId] = await h.users('pam', 'pat');
    await dynamo.send(
      new UpdateItemCommand({
        TableName: h.stack.tables.users,
        Key: { pk: { S: pam } },
        UpdateExpression: 'SET email = :e, phone = :p, passwordHash = :h, age = :a',
        ExpressionAttributeValues: {
          ':e': { S: 'pam@example.com' },
          ':p': { S: '+14155550123' },
          ':h': { S: '$scrypt$ln=17,r=8,p=1$salt$hash' },
          ':a': { N: '30' },
        },
      }),
    );
    const pat = await h.connect(patId);
    const profile = await pat.request('getProfile', { userId: pam });
    expect(profile).toMatchObject({ userId: pam, name: pam, username: pam, lastSeen: null });
    expect(Object.keys(profile).every((key) => PUBLIC_FIELDS.includes(key))).toBe(true);
    expect(JSON.stringify(profile)).not.toMatch(/example\.com|scrypt|4155550123/);
    // Another user's setting is theirs alone.
    expect(profile.lastSeenVisibleTo).toBeUndefined();
    expect(requestsOf('getProfile')).toBe(1);
    await expect(pat.request('getProfile', { userId: h.id('nobody') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await pat.close();
  });

  it('updateProfile changes the fields, answers the own profile, and others see it', async () => {
    const [piaId, polId] = await h.users('pia', 'pol');
    const pia = await h.connect(piaId);
    const photo = pngDataUrl('A', 20_000);
    const updated = await pia.request('updateProfile', {
      name: 'Pia',
      family: 'Rossi',
      photo,
      biography: 'Climbs rocks.\nDrinks tea.',
      lastSeenVisibleTo: 'following',
    });
    expect(updated).toMatchObject({
      userId: piaId,
      name: 'Pia',
      family: 'Rossi',
      username: piaId,
      photo,
      biography: 'Climbs rocks.\nDrinks tea.',
      lastSeenVisibleTo: 'following',
    });
    // One read of the account and presence items, one transaction.
    expect(requestsOf('updateProfile')).toBe(2);
    const pol = await h.connect(polId);
    expect(await pol.request('getProfile', { userId: piaId })).toMatchObject({
      name: 'Pia',
      family: 'Rossi',
      photo,
    });

    // null removes an optional field; what is not sent stays.
    const cleared = await pia.request('updateProfile', { family: null, photo: null });
    expect(cleared.family).toBeUndefined();
    expect(cleared.photo).toBeUndefined();
    expect(cleared.biography).toBe('Climbs rocks.\nDrinks tea.');
    expect(await pia.request('getProfile', { userId: piaId })).toMatchObject({
      lastSeenVisibleTo: 'following',
    });
    await Promise.all([pia.close(), pol.close()]);
  });

  it('refuses bad input with BAD_REQUEST and oversize photos with PAYLOAD_TOO_LARGE, changing nothing', async () => {
    const [polId] = await h.users('pol');
    const pol = await h.connect(polId);
    const before = (await h.items('users')).find((item) => item.pk === polId);
    const refused: [Record<string, unknown>, string][] = [
      [{}, 'BAD_REQUEST'],
      [{ name: '' }, 'BAD_REQUEST'],
      [{ username: 'no spaces' }, 'BAD_REQUEST'],
      [{ username: 'admin' }, 'BAD_REQUEST'],
      [{ biography: 'x'.repeat(501) }, 'BAD_REQUEST'],
      [{ lastSeenVisibleTo: 'friends' }, 'BAD_REQUEST'],
      [{ email: 'pol@example.com' }, 'BAD_REQUEST'],
      [{ photo: 'not an image!' }, 'BAD_REQUEST'],
      [{ name: 'Pol', photo: pngDataUrl('A', 28_000) }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [data, code] of refused) {
      await expect(pol.request('updateProfile', data as never)).rejects.toMatchObject({ code });
    }
    expect((await h.items('users')).find((item) => item.pk === polId)).toEqual(before);
    await pol.close();
  });

  it('keeps usernames unique: a taken one answers CONFLICT, and a released one is free again', async () => {
    // Each user's username is their id, so every name here is this test's own.
    const [pamId, patId] = await h.users('pam', 'pat');
    const [pam, pat] = await Promise.all([h.connect(pamId), h.connect(patId)]);
    await expect(pam.request('updateProfile', { username: patId.toUpperCase() })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await pam.request('updateProfile', { username: `${pamId.toUpperCase()}.Rides` })).toMatchObject({
      username: `${pamId}.rides`,
    });
    const guards = (await h.items('users')).filter((item) => String(item.pk).startsWith(`username#${pamId}`));
    expect(guards).toEqual([{ pk: `username#${pamId}.rides`, userId: pamId }]);
    // pat may now take pam's old name, and pam cannot take it back.
    expect(await pat.request('updateProfile', { username: pamId })).toMatchObject({ username: pamId });
    await expect(pam.request('updateProfile', { username: pamId })).rejects.toMatchObject({
      code: 'CONFLICT',
    });

    // Two users racing for one free name: exactly one gets it.
    const racer = h.id('racer');
    const race = await Promise.allSettled([
      pam.request('updateProfile', { username: racer }),
      pat.request('updateProfile', { username: racer }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      race.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(['CONFLICT']);
    const owners = (await h.items('users')).filter((item) => item.username === racer);
    expect(owners).toHaveLength(1);
    await Promise.all([pam.close(), pat.close()]);
  });

  it('a user blocked by the owner gets NOT_FOUND, exactly like for a user who does not exist', async () => {
    const [polId, piaId] = await h.users('pol', 'pia');
    const [pol, pia] = await Promise.all([h.connect(polId), h.connect(piaId)]);
    await pia.request('block', { userId: polId });
    const blocked = await pol.request('getProfile', { userId: piaId }).catch((error: unknown) => error);
    const unknown = await pol.request('getProfile', { userId: `${piaId}a` }).catch((error: unknown) => error);
    expect(blocked).toMatchObject({ code: 'NOT_FOUND' });
    expect((blocked as Error).message).toBe((unknown as Error).message.replace(`${piaId}a`, piaId));
    // The blocker still sees the blocked user's profile, but not their last seen.
    expect(await pia.request('getProfile', { userId: polId })).toMatchObject({
      userId: polId,
      lastSeen: null,
    });
    await pia.request('unblock', { userId: polId });
    expect(await pol.request('getProfile', { userId: piaId })).toMatchObject({ userId: piaId });
    await Promise.all([pol.close(), pia.close()]);
  });
});

describe('following', () => {
  it('follow and unfollow are idempotent, one request each, and getFollowing lists them with since', async () => {
    const [fayId, fin, flo] = await h.users('fay', 'fin', 'flo');
    const fay = await h.connect(fayId);
    await fay.request('follow', { userId: fin });
    expect(requestsOf('follow')).toBe(1);
    const first = await fay.request('getFollowing', {});
    expect(requestsOf('getFollowing')).toBe(1);
    expect(first.following).toEqual([{ userId: fin, since: expect.any(String) }]);
    await fay.request('follow', { userId: fin });
    await fay.request('follow', { userId: flo });
    const second = await fay.request('getFollowing', {});
    // Following again keeps the first `since`.
    expect(second.following).toEqual([first.following[0], { userId: flo, since: expect.any(String) }]);

    await fay.request('unfollow', { userId: fin });
    expect(requestsOf('unfollow')).toBe(1);
    await fay.request('unfollow', { userId: fin });
    expect((await fay.request('getFollowing', {})).following.map((f) => f.userId)).toEqual([flo]);
    await fay.request('unfollow', { userId: flo });
  });

  it('pages getFollowing with limit and cursor', async () => {
    const [fayId, ...followed] = await h.users('fay', 'fin', 'flo', 'fox', 'fred');
    const fay = await h.connect(fayId);
    for (const userId of followed) await fay.request('follow', { userId });
    const page1 = await fay.request('getFollowing', { limit: 3 });
    const page2 = await fay.request('getFollowing', { limit: 3, cursor: page1.nextCursor });
    expect(page1.following.map((f) => f.userId)).toEqual(followed.slice(0, 3));
    expect(page2.following.map((f) => f.userId)).toEqual(followed.slice(3));
    expect(page2.nextCursor).toBeUndefined();
    for (const userId of followed) await fay.request('unfollow', { userId });
  });

  it('refuses following yourself, an unknown user, someone who blocks you, or someone you block', async () => {
    const [fayId, foxId] = await h.users('fay', 'fox');
    const [fay, fox] = await Promise.all([h.connect(fayId), h.connect(foxId)]);
    await expect(fay.request('follow', { userId: fayId })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(fay.request('follow', { userId: h.id('ghost') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await fox.request('block', { userId: fayId });
    await expect(fay.request('follow', { userId: foxId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(fox.request('follow', { userId: fayId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await fox.request('unblock', { userId: fayId });
    await fay.request('follow', { userId: foxId });
    expect((await fay.request('getFollowing', {})).following.map((f) => f.userId)).toEqual([foxId]);
    await fay.request('unfollow', { userId: foxId });
    await Promise.all([fay.close(), fox.close()]);
  });

  it('a block removes the follows both ways, in one request, and unblocking restores none', async () => {
    const users = await h.users('fay', 'fred');
    const [fayId, fredId] = users;
    const [fay, fred] = await Promise.all([h.connect(fayId), h.connect(fredId)]);
    await fay.request('follow', { userId: fredId });
    await fred.request('follow', { userId: fayId });
    await fred.request('block', { userId: fayId });
    expect(requestsOf('block')).toBe(1);
    expect((await fay.request('getFollowing', {})).following).toEqual([]);
    expect((await fred.request('getFollowing', {})).following).toEqual([]);
    const presence = await h.itemsOf('presence', users);
    expect(presence.map((p) => [p.userId, p.follows, p.blocks, p.blockedBy])).toEqual(
      expect.arrayContaining([
        [fayId, undefined, undefined, new Set([fredId])],
        [fredId, undefined, new Set([fayId]), undefined],
      ]),
    );
    await fred.request('block', { userId: fayId });
    await fred.request('unblock', { userId: fayId });
    expect(requestsOf('unblock')).toBe(1);
    expect((await fred.request('getFollowing', {})).following).toEqual([]);
    await Promise.all([fay.close(), fred.close()]);
  });

  it('a follow racing a block never survives it', async () => {
    const [fayId, floId] = await h.users('fay', 'flo');
    const [fay, flo] = await Promise.all([h.connect(fayId), h.connect(floId)]);
    for (let round = 0; round < 5; round += 1) {
      await Promise.allSettled([
        fay.request('follow', { userId: floId }),
        flo.request('block', { userId: fayId }),
      ]);
      expect((await fay.request('getFollowing', {})).following).toEqual([]);
      await flo.request('unblock', { userId: fayId });
    }
    await Promise.all([fay.close(), flo.close()]);
  });
});

describe('last seen', () => {
  it('answers lastSeen and online for up to 100 ids in one request, in the order asked', async () => {
    const [leaId, leoId, liaId] = await h.users('lea', 'leo', 'lia');
    const leaSeen = await seen(leaId);
    const leo = await h.connect(leoId);
    const lia = await h.connect(liaId);
    h.stack.metrics.reset();
    const ghost = h.id('ghost');
    const ids = [leoId, leaId, ghost, ...Array.from({ length: 97 }, (_, i) => h.id(`nobody${i}`))];
    const { lastSeen } = await lia.request('getLastSeen', { userIds: ids });
    expect(requestsOf('getLastSeen')).toBe(1);
    expect(lastSeen).toHaveLength(100);
    expect(lastSeen.slice(0, 3)).toEqual([
      { userId: leoId, lastSeen: null, online: true },
      { userId: leaId, lastSeen: leaSeen, online: false },
      { userId: ghost, lastSeen: null, online: false },
    ]);
    await expect(lia.request('getLastSeen', { userIds: [...ids, h.id('one_more')] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await lia.request('getLastSeen', { userIds: [] })).toEqual({ lastSeen: [] });
    await Promise.all([leo.close(), lia.close()]);
  });

  it('honours lastSeenVisibleTo: everyone, following (whom the user follows), nobody, in getLastSeen and getProfile', async () => {
    const [louId, luxId, liaId] = await h.users('lou', 'lux', 'lia');
    const louSeen = await seen(louId);
    const [lou, lux, lia] = await Promise.all([h.connect(louId), h.connect(luxId), h.connect(liaId)]);
    const view = async (viewer: ParleyClient) => {
      const { lastSeen } = await viewer.request('getLastSeen', { userIds: [louId] });
      const profile = await viewer.request('getProfile', { userId: louId });
      expect(profile.lastSeen).toBe(lastSeen[0]?.lastSeen);
      return lastSeen[0];
    };
    // lou is online now (this connection) and was last seen at louSeen.
    expect(await view(lux)).toEqual({ userId: louId, lastSeen: louSeen, online: true });

    await lou.request('updateProfile', { lastSeenVisibleTo: 'following' });
    await lou.request('follow', { userId: luxId });
    expect(await view(lux)).toEqual({ userId: louId, lastSeen: louSeen, online: true });
    // lia follows lou, but lou does not follow lia: following is lou's choice of audience.
    await lia.request('follow', { userId: louId });
    expect(await view(lia)).toEqual({ userId: louId, lastSeen: null, online: false });

    await lou.request('updateProfile', { lastSeenVisibleTo: 'nobody' });
    expect(await view(lux)).toEqual({ userId: louId, lastSeen: null, online: false });
    // The owner always sees their own.
    expect(await view(lou)).toEqual({ userId: louId, lastSeen: louSeen, online: true });

    await lou.request('updateProfile', { lastSeenVisibleTo: 'everyone' });
    expect(await view(lia)).toEqual({ userId: louId, lastSeen: louSeen, online: true });
    await lou.request('unfollow', { userId: luxId });
    await lia.request('unfollow', { userId: louId });
    await Promise.all([lou.close(), lux.close(), lia.close()]);
  });

  it('shows nothing across a block, whichever side blocks', async () => {
    const [leaId, leoId] = await h.users('lea', 'leo');
    const [lea, leo] = await Promise.all([h.connect(leaId), h.connect(leoId)]);
    const of = async (viewer: ParleyClient, userId: string) =>
      (await viewer.request('getLastSeen', { userIds: [userId] })).lastSeen[0];
    expect(await of(leo, leaId)).toMatchObject({ online: true });
    await lea.request('block', { userId: leoId });
    expect(await of(leo, leaId)).toEqual({ userId: leaId, lastSeen: null, online: false });
    expect(await of(lea, leoId)).toEqual({ userId: leoId, lastSeen: null, online: false });
    await lea.request('unblock', { userId: leoId });
    expect(await of(leo, leaId)).toMatchObject({ online: true });
    expect(await of(lea, leoId)).toMatchObject({ online: true });
    await Promise.all([lea.close(), leo.close()]);
  });
});

describe('findUser', () => {
  it('finds a user by username in any case with 2 requests; blocks and pending holds answer NOT_FOUND', async () => {
    const [ann, bob, cat] = (await h.users('ann', 'bob', 'cat')) as [string, string, string];
    const viewer = await h.connect(bob);
    const { user } = await viewer.request('findUser', { username: ` ${ann.toUpperCase()} ` });
    expect(user).toEqual({ userId: ann, username: ann, name: ann });
    expect(requestsOf('findUser')).toBe(2);

    const blocker = await h.connect(cat);
    await blocker.request('block', { userId: bob });
    await expect(viewer.request('findUser', { username: cat })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(blocker.request('findUser', { username: bob })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // A username held by a sign-up that is not confirmed yet belongs to nobody.
    const held = h.id('held');
    await dynamo.send(
      new PutItemCommand({
        TableName: h.stack.tables.users,
        Item: {
          pk: { S: `username#${held}` },
          email: { S: `${held}@example.com` },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
        },
      }),
    );
    await expect(viewer.request('findUser', { username: held })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(viewer.request('findUser', { username: '' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
