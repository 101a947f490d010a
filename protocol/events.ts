/**
 * The names of the events the server pushes, as a value: `ServerEvents` is a type, and tools
 * (the AsyncAPI document's test, clients that subscribe to everything) need the list at run
 * time. The compiler keeps it complete: a name missing here, or one that is no event, fails
 * `npm run typecheck`.
 */
import type { ServerEventName } from './index.ts';

export const SERVER_EVENT_NAMES = [
  'message',
  'messagesRead',
  'randomMatched',
  'randomEnded',
  'typing',
  'conversationAdded',
  'conversationUpdated',
  'conversationRemoved',
  'membersChanged',
  'messageEdited',
  'messageDeleted',
  'reaction',
] as const satisfies readonly ServerEventName[];

type Unlisted = Exclude<ServerEventName, (typeof SERVER_EVENT_NAMES)[number]>;
/** Fails to compile while an event of ServerEvents is not in the list (its name shows in the error). */
export const everyEventListed: [Unlisted] extends [never] ? true : Unlisted = true;
