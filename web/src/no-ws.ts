/** Stands in for `ws` in the browser: the client uses the global WebSocket there. */
export const WebSocket = undefined;
