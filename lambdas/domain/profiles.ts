/**
 * Profiles and last seen (the first seed's receiveUserProfile and requestLastSeen): reading a
 * profile, changing one's own, and who may see a user's `lastSeen` and `online`.
 *
 * Who sees a last seen (`mayShowLastSeen`): the user themself always; nobody on either side
 * of a block; otherwise as the user's `lastSeenVisibleTo` setting says: `everyone`,
 * `following` (the users they follow: "people I follow can see me", the first seed's sense),
 * or `nobody`. Hidden is answered as `lastSeen: null` (and `online: false`), the same as a
 * user who was never seen, so a hidden value cannot be told from an absent one.
 */
import type {
  ClientToServer,
  LastSeenEntry,
  LastSeenVisibility,
  Profile,
  ServerReplies,
} from '../../protocol/index.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { checkImage } from './content.ts';
import { attachMedia, type MediaDeps } from './media.ts';

/** What a user's presence item says about them to one viewer. */
export interface PresenceFacts {
  readonly lastSeen?: string;
  readonly online: boolean;
  readonly lastSeenVisibleTo: LastSeenVisibility;
  /** The user blocks the viewer. */
  readonly blocksViewer: boolean;
  /** The viewer blocks the user. */
  readonly blockedByViewer: boolean;
  /** The user follows the viewer. */
  readonly followsViewer: boolean;
}

/** The public part of an account as stored, and the owner's setting. Never e-mail, phone or password hash. */
export interface ProfileRecord {
  readonly userId: string;
  readonly name: string;
  readonly family?: string;
  readonly username: string;
  readonly photo?: string;
  readonly biography?: string;
  readonly lastSeenVisibleTo: LastSeenVisibility;
}

export interface ProfileWithFacts {
  readonly profile: ProfileRecord;
  readonly facts: PresenceFacts;
}

/**
 * `saved`; `username-taken`: another account owns (or a live sign-up holds) the new username;
 * `changed-meanwhile`: the stored account is no longer `previous` (a concurrent rename).
 */
export type SaveProfileOutcome = 'saved' | 'username-taken' | 'changed-meanwhile';

export interface ProfileStore {
  /**
   * A confirmed account's profile and what its presence item says to `viewerId`, in one read;
   * undefined when there is no such account. `consistent` for a read-modify-write.
   */
  profile(
    userId: string,
    viewerId: string,
    now: Date,
    options?: { consistent?: boolean },
  ): Promise<ProfileWithFacts | undefined>;
  /**
   * Writes the changes from `previous` to `next` atomically: the account's fields, the username
   * guards when the username changes, and the setting's copy on the presence item.
   */
  saveProfile(previous: ProfileRecord, next: ProfileRecord, now: Date): Promise<SaveProfileOutcome>;
  /** The user id of the confirmed account that owns `username` (lowercase), in one read. */
  userIdOf(username: string): Promise<string | undefined>;
}

/** What `getLastSeen` reads: the presence items only. */
export interface LastSeenReader {
  /** What each user's presence item says to `viewerId` (users without one are absent), one read per 100 ids. */
  presenceFacts(userIds: readonly string[], viewerId: string, now: Date): Promise<Map<string, PresenceFacts>>;
}

const MAX_SAVE_ATTEMPTS = 3;

/** Whether `viewerId` may see the last seen (and online state) of `userId`. */
export function mayShowLastSeen(viewerId: string, userId: string, facts: PresenceFacts): boolean {
  if (viewerId === userId) return true;
  if (facts.blocksViewer || facts.blockedByViewer) return false;
  switch (facts.lastSeenVisibleTo) {
    case 'everyone':
      return true;
    case 'following':
      return facts.followsViewer;
    case 'nobody':
      return false;
  }
}

/**
 * A photo uploaded as media is stored as `media:{mediaId}` in `photo` (no inline image starts
 * so) and shown as `photoMediaId`.
 */
const MEDIA_PHOTO = 'media:';

/** The profile's photo as clients see it: `photo` (inline) or `photoMediaId`. */
function photoView(photo: string | undefined): { photo?: string; photoMediaId?: string } {
  if (photo === undefined) return {};
  return photo.startsWith(MEDIA_PHOTO) ? { photoMediaId: photo.slice(MEDIA_PHOTO.length) } : { photo };
}

/** What a profile photo upload is attached to (lambdas/domain/media.ts). */
export const profileTarget = (userId: string) => `profile#${userId}`;

function profileView(record: ProfileRecord, facts: PresenceFacts, viewerId: string): Profile {
  const own = record.userId === viewerId;
  const profile: Profile = {
    userId: record.userId,
    name: record.name,
    family: record.family,
    username: record.username,
    ...photoView(record.photo),
    biography: record.biography,
    lastSeen: mayShowLastSeen(viewerId, record.userId, facts) ? (facts.lastSeen ?? null) : null,
  };
  if (own) profile.lastSeenVisibleTo = record.lastSeenVisibleTo;
  return profile;
}

/**
 * Finds a user by username (exact, any case): 2 reads. A block either way answers NOT_FOUND,
 * exactly like a username nobody has, so a blocked user cannot tell they are blocked.
 */
export async function findUser(
  store: ProfileStore,
  input: ClientToServer['findUser'],
  caller: ConnectedUser,
): Promise<ServerReplies['findUser']> {
  const { userId: viewerId, now } = caller;
  const notFound = () => new NotFoundError(`Nobody has the username "${input.username}"`);
  const userId = await store.userIdOf(input.username);
  if (userId === undefined) throw notFound();
  const found = await store.profile(userId, viewerId, now);
  if (found === undefined) throw notFound();
  const { facts, profile } = found;
  if (userId !== viewerId && (facts.blocksViewer || facts.blockedByViewer)) throw notFound();
  const { name, family, username, photo } = profile;
  return { user: { userId, username, name, family, ...photoView(photo) } };
}

/** Whether `viewerId` may see `userId`'s profile (and its photo): there is such a user who does not block the viewer. */
export async function mayViewProfile(
  store: Pick<ProfileStore, 'profile'>,
  userId: string,
  viewerId: string,
  now: Date,
): Promise<boolean> {
  const found = await store.profile(userId, viewerId, now);
  return found !== undefined && (userId === viewerId || !found.facts.blocksViewer);
}

/** A profile; a user who blocks the caller answers NOT_FOUND, exactly like one who does not exist. */
export async function getProfile(
  store: ProfileStore,
  input: ClientToServer['getProfile'],
  caller: ConnectedUser,
): Promise<ServerReplies['getProfile']> {
  const { userId: viewerId, now } = caller;
  const found = await store.profile(input.userId, viewerId, now);
  if (found === undefined || (found.facts.blocksViewer && input.userId !== viewerId)) {
    throw new NotFoundError(`There is no user "${input.userId}"`);
  }
  return profileView(found.profile, found.facts, viewerId);
}

/** `next` = `current` with the input applied: undefined keeps a field, null removes it. */
export function applyProfileChanges(
  current: ProfileRecord,
  input: ClientToServer['updateProfile'],
): ProfileRecord {
  const optional = <K extends 'family' | 'photo' | 'biography'>(key: K) =>
    input[key] === undefined ? current[key] : (input[key] ?? undefined);
  return {
    userId: current.userId,
    name: input.name ?? current.name,
    family: optional('family'),
    username: input.username ?? current.username,
    photo: optional('photo'),
    biography: optional('biography'),
    lastSeenVisibleTo: input.lastSeenVisibleTo ?? current.lastSeenVisibleTo,
  };
}

/**
 * Changes the caller's profile and settings; answers the caller's own profile. A new username
 * must be free (CONFLICT otherwise); a photo follows the inline image limits.
 */
export async function updateProfile(
  store: ProfileStore,
  input: ClientToServer['updateProfile'],
  caller: ConnectedUser,
  media?: MediaDeps,
): Promise<ServerReplies['updateProfile']> {
  const { userId, now } = caller;
  if (typeof input.photo === 'string') checkImage(input.photo, 'photo');
  if (input.photoMediaId !== undefined) {
    if (media === undefined) throw new BadRequestError('Media photos are not available here');
    await attachMedia(media, input.photoMediaId, 'profile', profileTarget(userId), caller);
    input = { ...input, photo: `${MEDIA_PHOTO}${input.photoMediaId}` };
  }
  for (let attempt = 1; attempt <= MAX_SAVE_ATTEMPTS; attempt += 1) {
    const found = await store.profile(userId, userId, now, { consistent: true });
    if (found === undefined) throw new NotFoundError('Your account was not found');
    const next = applyProfileChanges(found.profile, input);
    const outcome = await store.saveProfile(found.profile, next, now);
    if (outcome === 'saved') return profileView(next, found.facts, userId);
    if (outcome === 'username-taken') {
      throw new ConflictError(`The username "${next.username}" is taken; choose another`);
    }
  }
  throw new ConflictError('Your profile changed while this update was saved; send it again');
}

/**
 * Last seen and online state of up to 100 users, in the order asked (duplicates once). Users
 * who hide it from the caller, and unknown users, answer `lastSeen: null, online: false`.
 */
export async function getLastSeen(
  store: LastSeenReader,
  input: ClientToServer['getLastSeen'],
  caller: ConnectedUser,
): Promise<ServerReplies['getLastSeen']> {
  const { userId: viewerId, now } = caller;
  const userIds = [...new Set(input.userIds)];
  const facts =
    userIds.length === 0
      ? new Map<string, PresenceFacts>()
      : await store.presenceFacts(userIds, viewerId, now);
  const lastSeen = userIds.map((userId): LastSeenEntry => {
    const known = facts.get(userId);
    if (known === undefined || !mayShowLastSeen(viewerId, userId, known)) {
      return { userId, lastSeen: null, online: false };
    }
    return { userId, lastSeen: known.lastSeen ?? null, online: known.online };
  });
  return { lastSeen };
}
