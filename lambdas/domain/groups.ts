/**
 * Group conversations: create, read, rename, membership and roles. A group has an owner,
 * admins and members, at most `MAX_GROUP_MEMBERS` in all. Every change is one or a few
 * transactions that keep the member count exact (adapters/conversation-store.ts), so concurrent
 * changes never lose a member or pass the limit. Who may do what: docs/protocol.md, "Groups".
 */
import type {
  ClientToServer,
  GroupInfo,
  MemberRole,
  ServerEvent,
  ServerReplies,
} from '../../protocol/index.ts';
import { GROUP_MEMBERS_PAGE_SIZE, MAX_GROUP_MEMBERS } from '../../protocol/limits.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { type OpenConversation, openConversation } from './conversation-access.ts';
import { newGroupId, watermarkAt } from './conversations.ts';
import { exceptCaller, type PushDeps, pushEvent } from './delivery.ts';
import type {
  ConnectionRef,
  ConversationHead,
  ConversationStore,
  GroupState,
  MemberRecord,
} from './ports.ts';

export interface GroupDeps extends PushDeps {
  readonly conversations: ConversationStore;
}

/** How often a membership change that lost a race reads the group again and retries. */
const MAX_ROUNDS = 3;

/**
 * Runs `attempt` (a read of the group, then a conditional write) until it answers, reading
 * again after each lost race (`undefined`), `MAX_ROUNDS` at most.
 */
async function inRounds<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    const result = await attempt();
    if (result !== undefined) return result;
  }
  throw new ConflictError('The group changed meanwhile; try again');
}

export function groupInfoOf(head: ConversationHead): GroupInfo {
  return {
    conversationId: head.conversationId,
    kind: 'group',
    title: head.title ?? '',
    ...(head.photo === undefined ? {} : { photo: head.photo }),
    ownerId: head.ownerId ?? '',
    memberCount: head.memberCount ?? 0,
    createdAt: head.createdAt,
  };
}

/** The caller's open group, or NOT_FOUND (also for a direct conversation's id). */
async function openGroup(
  deps: Pick<GroupDeps, 'conversations'>,
  conversationId: string,
  caller: ConnectedUser,
): Promise<OpenConversation & { group: GroupState; me: MemberRecord }> {
  const open = await openConversation(deps, conversationId, caller.userId);
  if (open.group === undefined || open.me === undefined) {
    throw new BadRequestError(
      'conversationId must name a group (a direct conversation has no members to change)',
    );
  }
  return open as OpenConversation & { group: GroupState; me: MemberRecord };
}

function requireManager(me: MemberRecord): void {
  if (me.role === 'member') throw new ForbiddenError('Only the group owner or an admin may do this');
}

/** Users that are not found: NOT_FOUND naming the first few. */
function requireFound(wanted: readonly string[], found: ReadonlySet<string>): void {
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length > 0) {
    const named = missing
      .slice(0, 5)
      .map((id) => `"${id}"`)
      .join(', ');
    throw new NotFoundError(
      `There is no user ${named}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}`,
    );
  }
}

async function push(
  deps: GroupDeps,
  connections: readonly ConnectionRef[],
  caller: ConnectedUser,
  event: ServerEvent,
) {
  await pushEvent(deps, exceptCaller(connections, caller.connectionId), event);
}

const only = (connections: readonly ConnectionRef[], userIds: readonly string[]) => {
  const wanted = new Set(userIds);
  return connections.filter((c) => wanted.has(c.userId));
};

/**
 * Creates a group owned by the caller with the given members. Requests: the members' presence
 * items (1 per 100: they must exist; their devices), 1 transaction for the head and the owner,
 * 1 per 99 members.
 */
export async function createGroup(
  deps: GroupDeps,
  input: ClientToServer['createGroup'],
  caller: ConnectedUser,
): Promise<ServerReplies['createGroup']> {
  const { userId, now } = caller;
  if (input.memberIds.includes(userId)) {
    throw new BadRequestError('memberIds must name the other members (you are the owner already)');
  }
  const reach = await deps.targets.reach([userId, ...input.memberIds], now);
  requireFound(input.memberIds, reach.found);
  const at = now.toISOString();
  const conversationId = newGroupId(now);
  const head: ConversationHead = {
    conversationId,
    kind: 'group',
    title: input.title,
    ...(input.photo === undefined ? {} : { photo: input.photo }),
    ownerId: userId,
    memberCount: 1,
    createdAt: at,
    updatedAt: at,
  };
  await deps.conversations.createGroup(head, { userId, role: 'owner', joinedAt: at });
  const readUpTo = watermarkAt(now);
  const added = await deps.conversations.addMembers(
    conversationId,
    input.memberIds.map((memberId) => ({ userId: memberId, role: 'member', joinedAt: at, readUpTo })),
    MAX_GROUP_MEMBERS,
  );
  if (added !== 'added') throw new Error(`A new group's members could not be added (${added})`);
  const conversation = groupInfoOf({ ...head, memberCount: input.memberIds.length + 1 });
  await push(deps, reach.connections, caller, { event: 'conversationAdded', data: { conversation } });
  return { conversation };
}

/** The group and a page of its members (by user id; 500 a page). Requests: 1. */
export async function getGroup(
  deps: Pick<GroupDeps, 'conversations'>,
  input: ClientToServer['getGroup'],
  caller: ConnectedUser,
): Promise<ServerReplies['getGroup']> {
  const { group } = await openGroup(deps, input.conversationId, caller);
  const sorted = [...group.members]
    .sort((a, b) => (a.userId < b.userId ? -1 : 1))
    .filter((member) => input.cursor === undefined || member.userId > input.cursor);
  const page = sorted.slice(0, GROUP_MEMBERS_PAGE_SIZE);
  const members = page.map(({ userId, role, joinedAt }) => ({ userId, role, joinedAt }));
  const last = page.at(-1);
  return {
    conversation: groupInfoOf(group.head),
    members,
    ...(sorted.length > page.length && last !== undefined ? { nextCursor: last.userId } : {}),
  };
}

/** Title and photo (owner or admin); `conversationUpdated` to every member. */
export async function updateGroup(
  deps: GroupDeps,
  input: ClientToServer['updateGroup'],
  caller: ConnectedUser,
): Promise<ServerReplies['updateGroup']> {
  const open = await openGroup(deps, input.conversationId, caller);
  requireManager(open.me);
  const [head, connections] = await Promise.all([
    deps.conversations.updateGroup(input.conversationId, {
      ...(input.title === undefined ? {} : { title: input.title }),
      ...(input.photo === undefined ? {} : { photo: input.photo }),
    }),
    deps.targets.of(open.memberIds, caller.now),
  ]);
  const conversation = groupInfoOf(head);
  await push(deps, connections, caller, { event: 'conversationUpdated', data: { conversation } });
  return { conversation };
}

/**
 * Adds users (owner or admin); those already members are left out of `added`. The group holds
 * at most `MAX_GROUP_MEMBERS`: a request that would pass it adds nobody (CONFLICT).
 */
export async function addMembers(
  deps: GroupDeps,
  input: ClientToServer['addMembers'],
  caller: ConnectedUser,
): Promise<ServerReplies['addMembers']> {
  const { now } = caller;
  return inRounds(async () => {
    const open = await openGroup(deps, input.conversationId, caller);
    requireManager(open.me);
    const current = new Set(open.memberIds);
    const newcomers = input.userIds.filter((id) => !current.has(id));
    if (newcomers.length === 0) return { added: [] };
    if (current.size + newcomers.length > MAX_GROUP_MEMBERS) {
      throw new ConflictError(
        `A group has at most ${MAX_GROUP_MEMBERS} members; it has ${current.size}, so at most ${MAX_GROUP_MEMBERS - current.size} more fit`,
      );
    }
    const reach = await deps.targets.reach([...open.memberIds, ...newcomers], now);
    requireFound(newcomers, reach.found);
    const at = now.toISOString();
    const readUpTo = watermarkAt(now);
    const outcome = await deps.conversations.addMembers(
      input.conversationId,
      newcomers.map((userId) => ({ userId, role: 'member' as MemberRole, joinedAt: at, readUpTo })),
      MAX_GROUP_MEMBERS,
    );
    if (outcome === 'full') {
      throw new ConflictError(`A group has at most ${MAX_GROUP_MEMBERS} members; these do not fit any more`);
    }
    if (outcome === 'changed') return undefined;
    const conversation = groupInfoOf({ ...open.group.head, memberCount: current.size + newcomers.length });
    await Promise.all([
      push(deps, only(reach.connections, newcomers), caller, {
        event: 'conversationAdded',
        data: { conversation },
      }),
      push(deps, only(reach.connections, open.memberIds), caller, {
        event: 'membersChanged',
        data: { conversationId: input.conversationId, added: newcomers },
      }),
    ]);
    return { added: newcomers };
  });
}

/**
 * Removes a member (the owner anyone but themselves; an admin only plain members). The removed
 * user's devices get `conversationRemoved`, the others `membersChanged`.
 */
export async function removeMember(
  deps: GroupDeps,
  input: ClientToServer['removeMember'],
  caller: ConnectedUser,
): Promise<ServerReplies['removeMember']> {
  const open = await openGroup(deps, input.conversationId, caller);
  requireManager(open.me);
  if (input.userId === caller.userId) throw new BadRequestError('To leave a group, use leaveGroup');
  const target = open.group.members.find((member) => member.userId === input.userId);
  if (target === undefined) throw new NotFoundError(`"${input.userId}" is not a member of this group`);
  if (target.role === 'owner') throw new ForbiddenError('Nobody may remove the group owner');
  if (target.role === 'admin' && open.me.role !== 'owner') {
    throw new ForbiddenError('Only the group owner may remove an admin');
  }
  const [removed, connections] = await Promise.all([
    deps.conversations.removeMember(input.conversationId, input.userId),
    deps.targets.of(open.memberIds, caller.now),
  ]);
  if (!removed) throw new NotFoundError(`"${input.userId}" is not a member of this group`);
  await Promise.all([
    push(deps, only(connections, [input.userId]), caller, {
      event: 'conversationRemoved',
      data: { conversationId: input.conversationId },
    }),
    push(
      deps,
      only(
        connections,
        open.memberIds.filter((id) => id !== input.userId),
      ),
      caller,
      {
        event: 'membersChanged',
        data: { conversationId: input.conversationId, removed: [input.userId] },
      },
    ),
  ]);
  return {};
}

/** The member who becomes owner when the owner leaves: the oldest admin, else the oldest member. */
export function successorOf(members: readonly MemberRecord[], ownerId: string): MemberRecord | undefined {
  const others = members
    .filter((member) => member.userId !== ownerId)
    .sort((a, b) =>
      a.joinedAt === b.joinedAt ? (a.userId < b.userId ? -1 : 1) : a.joinedAt < b.joinedAt ? -1 : 1,
    );
  return others.find((member) => member.role === 'admin') ?? others[0];
}

/** Leaves a group; an owner who leaves hands it to `successorOf`. */
export async function leaveGroup(
  deps: GroupDeps,
  input: ClientToServer['leaveGroup'],
  caller: ConnectedUser,
): Promise<ServerReplies['leaveGroup']> {
  const { userId } = caller;
  return inRounds(async () => {
    const open = await openGroup(deps, input.conversationId, caller);
    const successor = open.me.role === 'owner' ? successorOf(open.group.members, userId) : undefined;
    const [left, connections] = await Promise.all([
      deps.conversations.removeMember(input.conversationId, userId, successor?.userId),
      deps.targets.of(open.memberIds, caller.now),
    ]);
    if (!left) return undefined;
    await Promise.all([
      push(deps, only(connections, [userId]), caller, {
        event: 'conversationRemoved',
        data: { conversationId: input.conversationId },
      }),
      push(
        deps,
        only(
          connections,
          open.memberIds.filter((id) => id !== userId),
        ),
        caller,
        {
          event: 'membersChanged',
          data: {
            conversationId: input.conversationId,
            removed: [userId],
            ...(successor === undefined
              ? {}
              : { roles: [{ userId: successor.userId, role: 'owner' as const }] }),
          },
        },
      ),
    ]);
    return {};
  });
}

/** Makes a member an admin or a plain member again (the owner only). */
export async function setRole(
  deps: GroupDeps,
  input: ClientToServer['setRole'],
  caller: ConnectedUser,
): Promise<ServerReplies['setRole']> {
  const open = await openGroup(deps, input.conversationId, caller);
  if (open.me.role !== 'owner') throw new ForbiddenError('Only the group owner may change roles');
  if (input.userId === caller.userId)
    throw new BadRequestError('The owner keeps the owner role (leave the group to hand it over)');
  if (!open.memberIds.includes(input.userId)) {
    throw new NotFoundError(`"${input.userId}" is not a member of this group`);
  }
  const [changed, connections] = await Promise.all([
    deps.conversations.setRole(input.conversationId, caller.userId, input.userId, input.role),
    deps.targets.of(open.memberIds, caller.now),
  ]);
  if (!changed) throw new ConflictError('The group changed meanwhile; try again');
  await push(deps, connections, caller, {
    event: 'membersChanged',
    data: { conversationId: input.conversationId, roles: [{ userId: input.userId, role: input.role }] },
  });
  return {};
}
