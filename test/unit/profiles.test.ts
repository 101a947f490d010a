import { beforeEach, describe, expect, it } from 'vitest';
import {
  applyProfileChanges,
  findUser,
  getLastSeen,
  getProfile,
  mayShowLastSeen,
  type PresenceFacts,
  updateProfile,
} from '../../lambdas/domain/profiles.ts';
import { clientSchemas, MAX_IMAGE_BYTES } from '../../protocol/index.ts';
import { callerAs } from './fakes.ts';
import { FakeProfiles } from './social-fakes.ts';

const now = new Date('2026-11-22T10:00:00Z');
const earlier = '2026-11-22T09:00:00.000Z';

describe('who sees a last seen', () => {
  const facts = (overrides: Partial<PresenceFacts> = {}): PresenceFacts => ({
    lastSeen: earlier,
    online: false,
    lastSeenVisibleTo: 'everyone',
    blocksViewer: false,
    blockedByViewer: false,
    followsViewer: false,
    ...overrides,
  });

  it.each([
    ['everyone, no relation', facts(), true],
    ['following, followed by the user', facts({ lastSeenVisibleTo: 'following', followsViewer: true }), true],
    ['following, not followed by the user', facts({ lastSeenVisibleTo: 'following' }), false],
    ['nobody, even followed', facts({ lastSeenVisibleTo: 'nobody', followsViewer: true }), false],
    ['everyone, the user blocks the viewer', facts({ blocksViewer: true }), false],
    ['everyone, the viewer blocks the user', facts({ blockedByViewer: true }), false],
    [
      'following, followed but blocked',
      facts({ lastSeenVisibleTo: 'following', followsViewer: true, blocksViewer: true }),
      false,
    ],
  ])('%s: %s', (_case, f, visible) => {
    expect(mayShowLastSeen('viewer', 'user', f)).toBe(visible);
  });

  it('always shows users their own', () => {
    expect(mayShowLastSeen('me', 'me', facts({ lastSeenVisibleTo: 'nobody' }))).toBe(true);
  });
});

describe('profile use cases', () => {
  let store: FakeProfiles;

  beforeEach(() => {
    store = new FakeProfiles();
    store.add('ann', { family: 'Ames', photo: 'iVBORw0KGgo=', biography: 'hi' });
    store.add('bob');
    store.lastSeen.set('ann', earlier);
  });

  it('getProfile answers the public fields and the last seen', async () => {
    expect(await getProfile(store, { userId: 'ann' }, callerAs('bob', now))).toEqual({
      userId: 'ann',
      name: 'ann',
      family: 'Ames',
      username: 'ann',
      photo: 'iVBORw0KGgo=',
      biography: 'hi',
      lastSeen: earlier,
    });
  });

  it('shows the owner their setting, and no one else', async () => {
    store.setting('ann', 'nobody');
    expect(await getProfile(store, { userId: 'ann' }, callerAs('ann', now))).toMatchObject({
      lastSeen: earlier,
      lastSeenVisibleTo: 'nobody',
    });
    const seenByBob = await getProfile(store, { userId: 'ann' }, callerAs('bob', now));
    expect(seenByBob.lastSeen).toBeNull();
    expect(seenByBob).not.toHaveProperty('lastSeenVisibleTo');
  });

  it('answers NOT_FOUND with one message to a blocked viewer and for an unknown user', async () => {
    store.graph.blocks.add('ann>bob');
    const blocked = await getProfile(store, { userId: 'ann' }, callerAs('bob', now)).catch((e: unknown) => e);
    expect(blocked).toMatchObject({ code: 'NOT_FOUND', message: 'There is no user "ann"' });
    await expect(getProfile(store, { userId: 'zed' }, callerAs('bob', now))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'There is no user "zed"',
    });
    // The blocker sees the profile, without the last seen.
    store.lastSeen.set('bob', earlier);
    expect(await getProfile(store, { userId: 'bob' }, callerAs('ann', now))).toMatchObject({
      userId: 'bob',
      lastSeen: null,
    });
  });

  it('applies changes: undefined keeps a field, null removes it', () => {
    const current = {
      userId: 'ann',
      name: 'Ann',
      family: 'Ames',
      username: 'ann',
      photo: 'x',
      lastSeenVisibleTo: 'everyone' as const,
    };
    expect(
      applyProfileChanges(current, { family: null, biography: 'new', lastSeenVisibleTo: 'following' }),
    ).toEqual({
      userId: 'ann',
      name: 'Ann',
      family: undefined,
      username: 'ann',
      photo: 'x',
      biography: 'new',
      lastSeenVisibleTo: 'following',
    });
  });

  it('updateProfile saves and answers the caller’s own profile', async () => {
    const profile = await updateProfile(
      store,
      { name: 'Ann', username: 'ann.a', lastSeenVisibleTo: 'following' },
      callerAs('ann', now),
    );
    expect(profile).toMatchObject({
      name: 'Ann',
      username: 'ann.a',
      lastSeenVisibleTo: 'following',
      lastSeen: earlier,
    });
    expect(store.records.get('ann')).toMatchObject({ username: 'ann.a', lastSeenVisibleTo: 'following' });
  });

  it('answers CONFLICT for a taken username and retries a concurrent change', async () => {
    await expect(updateProfile(store, { username: 'bob' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    store.conflicts = 2;
    await expect(updateProfile(store, { name: 'Annie' }, callerAs('ann', now))).resolves.toMatchObject({
      name: 'Annie',
    });
    store.conflicts = 3;
    await expect(updateProfile(store, { name: 'Anne' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('checks the photo like a message image before anything is read or saved', async () => {
    const huge = 'A'.repeat(MAX_IMAGE_BYTES + 4);
    await expect(updateProfile(store, { photo: huge }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(updateProfile(store, { photo: 'not base64!' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(store.saves).toEqual([]);
  });

  it('getLastSeen answers every id once, in order, hiding what the viewer may not see', async () => {
    store.add('cat', { lastSeenVisibleTo: 'following' });
    store.add('dan', { lastSeenVisibleTo: 'following' });
    store.add('eve', { lastSeenVisibleTo: 'nobody' });
    for (const user of ['cat', 'dan', 'eve']) store.lastSeen.set(user, earlier);
    store.online.add('cat');
    store.graph.follows.set('cat>bob', earlier);
    expect(
      await getLastSeen(store, { userIds: ['cat', 'dan', 'eve', 'ann', 'zed', 'cat'] }, callerAs('bob', now)),
    ).toEqual({
      lastSeen: [
        { userId: 'cat', lastSeen: earlier, online: true },
        { userId: 'dan', lastSeen: null, online: false },
        { userId: 'eve', lastSeen: null, online: false },
        { userId: 'ann', lastSeen: earlier, online: false },
        { userId: 'zed', lastSeen: null, online: false },
      ],
    });
    expect(await getLastSeen(store, { userIds: [] }, callerAs('bob', now))).toEqual({ lastSeen: [] });
  });
});

describe('updateProfile schema', () => {
  const parse = (data: unknown) => clientSchemas.updateProfile.safeParse(data);

  it('needs at least one field and refuses unknown ones', () => {
    expect(parse({}).success).toBe(false);
    expect(parse({ email: 'a@b.c' }).success).toBe(false);
    expect(parse({ biography: null }).success).toBe(true);
  });

  it('normalizes usernames like sign-up does', () => {
    expect(parse({ username: '  Ann.Ames ' })).toMatchObject({
      success: true,
      data: { username: 'ann.ames' },
    });
    for (const username of ['ab', 'admin', 'a..b', '.ann', 'ann ames'])
      expect(parse({ username }).success).toBe(false);
  });

  it('limits the biography to 500 characters and the setting to its three values', () => {
    expect(parse({ biography: '😀'.repeat(500) }).success).toBe(true);
    expect(parse({ biography: 'x'.repeat(501) }).success).toBe(false);
    expect(parse({ lastSeenVisibleTo: 'friends' }).success).toBe(false);
  });
});

describe('findUser', () => {
  const store = new FakeProfiles();
  store.add('u_ann', { username: 'ann.lee', name: 'Ann', family: 'Lee', photo: 'cGhvdG8=', biography: 'hi' });
  store.add('u_bob', { username: 'bob' });
  store.add('u_cat', { username: 'cat' });
  store.graph.blocks.add('u_cat>u_bob');

  it('finds a user by username, with only what a stranger may see', async () => {
    expect(await findUser(store, { username: 'ann.lee' }, callerAs('u_bob'))).toEqual({
      user: { userId: 'u_ann', username: 'ann.lee', name: 'Ann', family: 'Lee', photo: 'cGhvdG8=' },
    });
  });

  it('answers NOT_FOUND for a username nobody has, and across a block either way', async () => {
    for (const [username, viewer] of [
      ['nobody', 'u_bob'],
      ['cat', 'u_bob'],
      ['bob', 'u_cat'],
    ] as const) {
      await expect(findUser(store, { username }, callerAs(viewer))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    }
  });
});
