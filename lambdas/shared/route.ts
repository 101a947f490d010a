/**
 * The one wrapper every action handler uses: parse the frame, validate `data` with the
 * action's schema (protocol.ts), call one use case, and map the result or the typed error to a
 * reply (shared/frames.ts). The schema is built when the handler is made, during the init phase.
 */
import { type ClientAction, type ClientToServer, clientSchemas, type ServerReplies } from '../protocol.ts';
import { type ActionHandler, actionRoute, type RouteContext } from './frames.ts';
import type { Validator } from './validation.ts';

export type { ActionHandler, RouteContext };

export function route<A extends ClientAction>(
  action: A,
  run: (input: ClientToServer[A], context: RouteContext) => Promise<ServerReplies[A]>,
): ActionHandler {
  const schema = clientSchemas[action];
  // One schema per action: its output is `ClientToServer[A]`, which TypeScript cannot see through the index.
  const validate = (data: unknown) => schema.safeParse(data) as ReturnType<Validator<ClientToServer[A]>>;
  return actionRoute(action, validate, run);
}
