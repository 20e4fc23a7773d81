import { z } from 'zod';

/**
 * An RPC command: its name on the wire and the schemas of what it carries and what it answers,
 * as an rpc of a `.proto` names its request and response messages. The caller and the server
 * use the same object, so neither writes the other's types by hand: the server validates the
 * request, the caller the reply.
 *
 * Reply schemas describe JSON as it travels (no transforms or defaults): the caller checks a
 * reply against them and hands it on as it came.
 */
export interface RpcCommand<In extends z.ZodType = z.ZodType, Out extends z.ZodType = z.ZodType> {
  /** The routing key; part of the wire format (a new meaning takes a new version). */
  readonly name: string;
  readonly request: In;
  readonly reply: Out;
}

export function rpcCommand<In extends z.ZodType, Out extends z.ZodType>(name: string, request: In, reply: Out): RpcCommand<In, Out> {
  return { name, request, reply };
}

/** What a caller sends (the server fills the request schema's defaults). */
export type RequestOf<C extends RpcCommand> = z.input<C['request']>;
/** What a handler receives. */
export type PayloadOf<C extends RpcCommand> = z.output<C['request']>;
/** What the command answers. */
export type ReplyOf<C extends RpcCommand> = z.output<C['reply']>;

/** A command with no parameters. */
export const NoParameters = z.object({});

/**
 * What a command that queues work answers (and the gateway sends on as a 202): the work's id,
 * where it stands and where to follow it. The id's field is named for what it identifies
 * (`request_id`, `query_id`, `task_id`), as the public API has always called it.
 */
export function accepted<IdField extends string, Status extends z.ZodType<string>>(idField: IdField, status: Status) {
  return z.object({ ...({ [idField]: z.uuid() } as Record<IdField, z.ZodUUID>), status, status_url: z.string() });
}
