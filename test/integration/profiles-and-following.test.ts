/**
 * Profiles, following and last seen end to end: real WebSocket clients against the local
 * stack, with the DynamoDB requests of every call counted (DESIGN.md section 4).
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  h = await startHarness();
  dynamo = new DynamoDBClient({ endpoint: h.stack.dynamoEndpoint });
  await h.createUsers([
    'pam',
    'pat',
    'pia',
    'pol', // profiles
    'fay',
    'fin',
    'flo',
    'fox',
    'fred', // following
    'lea',
    'leo',
    'lia',
    'lou',
    'lux', // last seen
  ]);
});
afterAll(async () => {
  dynamo?.destroy();
  await h?.stop();
});
beforeEach(() => h.stack.metrics.reset());

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
  await h.stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId);
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
    await dynamo.send(
      new UpdateItemCommand({
        TableName: h.stack.tables.users,
        Key: { pk: { S: 'pam' } },
        UpdateExpression: 'SET email = :e, phone = :p, passwordHash = :h, age = :a',
        ExpressionAttributeValues: {
          ':e': { S: 'pam@example.com' },
          ':p': { S: '+14155550123' },
          ':h': { S: '$scrypt$ln=17,r=8,p=1$salt$hash' },
          ':a': { N: '30' },
        },
      }),
    );
    const pat = await h.connect('pat');
    const profile = await pat.request('getProfile', { userId: 'pam' });
    expect(profile).toMatchObject({ userId: 'pam', name: 'pam', username: 'pam', lastSeen: null });
    expect(Object.keys(profile).every((key) => PUBLIC_FIELDS.includes(key))).toBe(true);
    expect(JSON.stringify(profile)).not.toMatch(/example\.com|scrypt|4155550123/);
    // Another user's setting is theirs alone.
    expect(profile.lastSeenVisibleTo).toBeUndefined();
    expect(requestsOf('getProfile')).toBe(1);
    await expect(pat.request('getProfile', { userId: 'nobody' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await pat.close();
  });

  it('updateProfile changes the fields, answers the own profile, and others see it', async () => {
    const pia = await h.connect('pia');
    const photo = `data:image/png;base64,${'A'.repeat(40_000)}`;
    const updated = await pia.request('updateProfile', {
      name: 'Pia',
      family: 'Rossi',
      photo,
      biography: 'Climbs rocks.\nDrinks tea.',
      lastSeenVisibleTo: 'following',
    });
    expect(updated).toMatchObject({
      userId: 'pia',
      name: 'Pia',
      family: 'Rossi',
      username: 'pia',
      photo,
      biography: 'Climbs rocks.\nDrinks tea.',
      lastSeenVisibleTo: 'following',
    });
    // One read of the account and presence items, one transaction.
    expect(requestsOf('updateProfile')).toBe(2);
    const pol = await h.connect('pol');
    expect(await pol.request('getProfile', { userId: 'pia' })).toMatchObject({
      name: 'Pia',
      family: 'Rossi',
      photo,
    });

    // null removes an optional field; what is not sent stays.
    const cleared = await pia.request('updateProfile', { family: null, photo: null });
    expect(cleared.family).toBeUndefined();
    expect(cleared.photo).toBeUndefined();
    expect(cleared.biography).toBe('Climbs rocks.\nDrinks tea.');
    expect(await pia.request('getProfile', { userId: 'pia' })).toMatchObject({
      lastSeenVisibleTo: 'following',
    });
    await Promise.all([pia.close(), pol.close()]);
  });

  it('refuses bad input with BAD_REQUEST and oversize photos with PAYLOAD_TOO_LARGE, changing nothing', async () => {
    const pol = await h.connect('pol');
    const before = (await h.items('users')).find((item) => item.pk === 'pol');
    const refused: [Record<string, unknown>, string][] = [
      [{}, 'BAD_REQUEST'],
      [{ name: '' }, 'BAD_REQUEST'],
      [{ username: 'no spaces' }, 'BAD_REQUEST'],
      [{ username: 'admin' }, 'BAD_REQUEST'],
      [{ biography: 'x'.repeat(501) }, 'BAD_REQUEST'],
      [{ lastSeenVisibleTo: 'friends' }, 'BAD_REQUEST'],
      [{ email: 'pol@example.com' }, 'BAD_REQUEST'],
      [{ photo: 'not an image!' }, 'BAD_REQUEST'],
      [{ name: 'Pol', photo: `data:image/png;base64,${'A'.repeat(70_000)}` }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [data, code] of refused) {
      await expect(pol.request('updateProfile', data as never)).rejects.toMatchObject({ code });
    }
    expect((await h.items('users')).find((item) => item.pk === 'pol')).toEqual(before);
    await pol.close();
  });

  it('keeps usernames unique: a taken one answers CONFLICT, and a released one is free again', async () => {
    const [pam, pat] = await Promise.all([h.connect('pam'), h.connect('pat')]);
    await expect(pam.request('updateProfile', { username: 'PAT' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await pam.request('updateProfile', { username: 'Pam.Rides' })).toMatchObject({
      username: 'pam.rides',
    });
    const guards = (await h.items('users')).filter((item) => String(item.pk).startsWith('username#pam'));
    expect(guards).toEqual([{ pk: 'username#pam.rides', userId: 'pam' }]);
    // pat may now take "pam", and pam cannot take it back.
    expect(await pat.request('updateProfile', { username: 'pam' })).toMatchObject({ username: 'pam' });
    await expect(pam.request('updateProfile', { username: 'pam' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });

    // Two users racing for one free name: exactly one gets it.
    const race = await Promise.allSettled([
      pam.request('updateProfile', { username: 'racer' }),
      pat.request('updateProfile', { username: 'racer' }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      race.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(['CONFLICT']);
    const owners = (await h.items('users')).filter((item) => item.username === 'racer');
    expect(owners).toHaveLength(1);
    await Promise.all([pam.close(), pat.close()]);
  });

  it('a user blocked by the owner gets NOT_FOUND, exactly like for a user who does not exist', async () => {
    const [pol, pia] = await Promise.all([h.connect('pol'), h.connect('pia')]);
    await pia.request('block', { userId: 'pol' });
    const blocked = await pol.request('getProfile', { userId: 'pia' }).catch((error: unknown) => error);
    const unknown = await pol.request('getProfile', { userId: 'piaa' }).catch((error: unknown) => error);
    expect(blocked).toMatchObject({ code: 'NOT_FOUND' });
    expect((blocked as Error).message).toBe((unknown as Error).message.replace('piaa', 'pia'));
    // The blocker still sees the blocked user's profile, but not their last seen.
    expect(await pia.request('getProfile', { userId: 'pol' })).toMatchObject({
      userId: 'pol',
      lastSeen: null,
    });
    await pia.request('unblock', { userId: 'pol' });
    expect(await pol.request('getProfile', { userId: 'pia' })).toMatchObject({ userId: 'pia' });
    await Promise.all([pol.close(), pia.close()]);
  });
});

describe('following', () => {
  let fay: ParleyClient;
  beforeAll(async () => {
    fay = await h.connect('fay');
  });
  afterAll(() => fay.close());

  it('follow and unfollow are idempotent, one request each, and getFollowing lists them with since', async () => {
    await fay.request('follow', { userId: 'fin' });
    expect(requestsOf('follow')).toBe(1);
    const first = await fay.request('getFollowing', {});
    expect(requestsOf('getFollowing')).toBe(1);
    expect(first.following).toEqual([{ userId: 'fin', since: expect.any(String) }]);
    await fay.request('follow', { userId: 'fin' });
    await fay.request('follow', { userId: 'flo' });
    const second = await fay.request('getFollowing', {});
    // Following again keeps the first `since`.
    expect(second.following).toEqual([first.following[0], { userId: 'flo', since: expect.any(String) }]);

    await fay.request('unfollow', { userId: 'fin' });
    expect(requestsOf('unfollow')).toBe(1);
    await fay.request('unfollow', { userId: 'fin' });
    expect((await fay.request('getFollowing', {})).following.map((f) => f.userId)).toEqual(['flo']);
    await fay.request('unfollow', { userId: 'flo' });
  });

  it('pages getFollowing with limit and cursor', async () => {
    for (const userId of ['fin', 'flo', 'fox', 'fred']) await fay.request('follow', { userId });
    const page1 = await fay.request('getFollowing', { limit: 3 });
    const page2 = await fay.request('getFollowing', { limit: 3, cursor: page1.nextCursor });
    expect(page1.following.map((f) => f.userId)).toEqual(['fin', 'flo', 'fox']);
    expect(page2.following.map((f) => f.userId)).toEqual(['fred']);
    expect(page2.nextCursor).toBeUndefined();
    for (const userId of ['fin', 'flo', 'fox', 'fred']) await fay.request('unfollow', { userId });
  });

  it('refuses following yourself, an unknown user, someone who blocks you, or someone you block', async () => {
    const fox = await h.connect('fox');
    await expect(fay.request('follow', { userId: 'fay' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(fay.request('follow', { userId: 'ghost' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await fox.request('block', { userId: 'fay' });
    await expect(fay.request('follow', { userId: 'fox' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(fox.request('follow', { userId: 'fay' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await fox.request('unblock', { userId: 'fay' });
    await fay.request('follow', { userId: 'fox' });
    expect((await fay.request('getFollowing', {})).following.map((f) => f.userId)).toEqual(['fox']);
    await fay.request('unfollow', { userId: 'fox' });
    await fox.close();
  });

  it('a block removes the follows both ways, in one request, and unblocking restores none', async () => {
    const fred = await h.connect('fred');
    await fay.request('follow', { userId: 'fred' });
    await fred.request('follow', { userId: 'fay' });
    await fred.request('block', { userId: 'fay' });
    expect(requestsOf('block')).toBe(1);
    expect((await fay.request('getFollowing', {})).following).toEqual([]);
    expect((await fred.request('getFollowing', {})).following).toEqual([]);
    const presence = (await h.items('presence')).filter(
      (item) => item.userId === 'fay' || item.userId === 'fred',
    );
    expect(presence.map((p) => [p.userId, p.follows, p.blocks, p.blockedBy])).toEqual(
      expect.arrayContaining([
        ['fay', undefined, undefined, new Set(['fred'])],
        ['fred', undefined, new Set(['fay']), undefined],
      ]),
    );
    await fred.request('block', { userId: 'fay' });
    await fred.request('unblock', { userId: 'fay' });
    expect(requestsOf('unblock')).toBe(1);
    expect((await fred.request('getFollowing', {})).following).toEqual([]);
    await fred.close();
  });

  it('a follow racing a block never survives it', async () => {
    const flo = await h.connect('flo');
    for (let round = 0; round < 5; round += 1) {
      await Promise.allSettled([
        fay.request('follow', { userId: 'flo' }),
        flo.request('block', { userId: 'fay' }),
      ]);
      expect((await fay.request('getFollowing', {})).following).toEqual([]);
      await flo.request('unblock', { userId: 'fay' });
    }
    await flo.close();
  });
});

describe('last seen', () => {
  it('answers lastSeen and online for up to 100 ids in one request, in the order asked', async () => {
    const leaSeen = await seen('lea');
    const leo = await h.connect('leo');
    const lia = await h.connect('lia');
    h.stack.metrics.reset();
    const ids = ['leo', 'lea', 'ghost', ...Array.from({ length: 97 }, (_, i) => `nobody${i}`)];
    const { lastSeen } = await lia.request('getLastSeen', { userIds: ids });
    expect(requestsOf('getLastSeen')).toBe(1);
    expect(lastSeen).toHaveLength(100);
    expect(lastSeen.slice(0, 3)).toEqual([
      { userId: 'leo', lastSeen: null, online: true },
      { userId: 'lea', lastSeen: leaSeen, online: false },
      { userId: 'ghost', lastSeen: null, online: false },
    ]);
    await expect(lia.request('getLastSeen', { userIds: [...ids, 'one-more'] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await lia.request('getLastSeen', { userIds: [] })).toEqual({ lastSeen: [] });
    await Promise.all([leo.close(), lia.close()]);
  });

  it('honours lastSeenVisibleTo: everyone, following (whom the user follows), nobody, in getLastSeen and getProfile', async () => {
    const louSeen = await seen('lou');
    const [lou, lux, lia] = await Promise.all([h.connect('lou'), h.connect('lux'), h.connect('lia')]);
    const view = async (viewer: ParleyClient) => {
      const { lastSeen } = await viewer.request('getLastSeen', { userIds: ['lou'] });
      const profile = await viewer.request('getProfile', { userId: 'lou' });
      expect(profile.lastSeen).toBe(lastSeen[0]?.lastSeen);
      return lastSeen[0];
    };
    // lou is online now (this connection) and was last seen at louSeen.
    expect(await view(lux)).toEqual({ userId: 'lou', lastSeen: louSeen, online: true });

    await lou.request('updateProfile', { lastSeenVisibleTo: 'following' });
    await lou.request('follow', { userId: 'lux' });
    expect(await view(lux)).toEqual({ userId: 'lou', lastSeen: louSeen, online: true });
    // lia follows lou, but lou does not follow lia: following is lou's choice of audience.
    await lia.request('follow', { userId: 'lou' });
    expect(await view(lia)).toEqual({ userId: 'lou', lastSeen: null, online: false });

    await lou.request('updateProfile', { lastSeenVisibleTo: 'nobody' });
    expect(await view(lux)).toEqual({ userId: 'lou', lastSeen: null, online: false });
    // The owner always sees their own.
    expect(await view(lou)).toEqual({ userId: 'lou', lastSeen: louSeen, online: true });

    await lou.request('updateProfile', { lastSeenVisibleTo: 'everyone' });
    expect(await view(lia)).toEqual({ userId: 'lou', lastSeen: louSeen, online: true });
    await lou.request('unfollow', { userId: 'lux' });
    await lia.request('unfollow', { userId: 'lou' });
    await Promise.all([lou.close(), lux.close(), lia.close()]);
  });

  it('shows nothing across a block, whichever side blocks', async () => {
    const [lea, leo] = await Promise.all([h.connect('lea'), h.connect('leo')]);
    const of = async (viewer: ParleyClient, userId: string) =>
      (await viewer.request('getLastSeen', { userIds: [userId] })).lastSeen[0];
    expect(await of(leo, 'lea')).toMatchObject({ online: true });
    await lea.request('block', { userId: 'leo' });
    expect(await of(leo, 'lea')).toEqual({ userId: 'lea', lastSeen: null, online: false });
    expect(await of(lea, 'leo')).toEqual({ userId: 'leo', lastSeen: null, online: false });
    await lea.request('unblock', { userId: 'leo' });
    expect(await of(leo, 'lea')).toMatchObject({ online: true });
    expect(await of(lea, 'leo')).toMatchObject({ online: true });
    await Promise.all([lea.close(), leo.close()]);
  });
});
