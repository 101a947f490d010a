/**
 * The protocol's types, from the one protocol module that the server uses too
 * (protocol/index.ts). Types only: the client bundles none of the server's schemas. The
 * package build (client/build.ts) writes them out as plain TypeScript declarations, without zod.
 */
export type * from '../protocol/index.ts';
