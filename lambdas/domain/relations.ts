/** Blocks between users (and, with issue 5, following). */
import type { ClientToServer } from '../protocol.ts';
import { BadRequestError, NotFoundError } from '../shared/errors.ts';

export type RelationKind = 'block' | 'follow';

export interface RelationStore {
  userExists(userId: string): Promise<boolean>;
  /** Creates the relation; an existing one is kept as it is (idempotent). */
  add(userId: string, kind: RelationKind, otherId: string, since: Date): Promise<void>;
  remove(userId: string, kind: RelationKind, otherId: string): Promise<void>;
}

async function checkTarget(store: RelationStore, userId: string, otherId: string, verb: string) {
  if (otherId === userId) throw new BadRequestError(`You cannot ${verb} yourself`);
  if (!(await store.userExists(otherId))) throw new NotFoundError(`There is no user "${otherId}"`);
}

/** While either user blocks the other, neither can message the other. Idempotent. */
export async function block(store: RelationStore, userId: string, input: ClientToServer['block'], now: Date) {
  await checkTarget(store, userId, input.userId, 'block');
  await store.add(userId, 'block', input.userId, now);
  return {};
}

/** Removes the caller's block; a block the other user set stays. Idempotent. */
export async function unblock(store: RelationStore, userId: string, input: ClientToServer['unblock']) {
  if (input.userId === userId) throw new BadRequestError('You cannot unblock yourself');
  await store.remove(userId, 'block', input.userId);
  return {};
}
