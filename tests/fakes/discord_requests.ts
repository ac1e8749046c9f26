/**
 * Builders of the interaction payloads the Discord gateway delivers, so tests say what a person did
 * ("ran /similar with this file", "pressed More like") instead of spelling raw payloads.
 * @module
 */
import { CHANNEL_ID, GUILD_ID, member, snowflake } from "./discord_fake.ts";

/** Who acts, where: a member with these permissions (decimal bit field) in the fake's guild. */
export interface Actor {
  /** @default "0" (no permissions) */
  perms?: string;
  /** The user's id. @default member()'s */
  userId?: string;
  /** @default GUILD_ID */
  guildId?: string;
  /** @default CHANNEL_ID */
  channelId?: string;
}

/** A message attachment as Discord describes it. */
export interface AttachmentPayload {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
}

const where = (a: Actor) => ({
  guild_id: a.guildId ?? GUILD_ID,
  channel_id: a.channelId ?? CHANNEL_ID,
  member: a.userId === undefined ? member(a.perms ?? "0") : member(a.perms ?? "0", a.userId),
});

/**
 * An attachment served from `url`.
 *
 * @param url Where its bytes are.
 * @param filename Its name.
 * @param contentType Its declared type.
 * @param size Its declared size in bytes.
 * @returns The attachment, with a fresh id.
 */
export function attachment(
  url: string,
  filename: string,
  contentType: string,
  size: number,
): AttachmentPayload {
  return { id: snowflake(), filename, size, url, proxy_url: url, content_type: contentType };
}

/**
 * A chat-input command (`/name`), with options and, for attachment options, the resolved files.
 *
 * @param name The command.
 * @param options Its options as Discord sends them.
 * @param actor Who runs it, where.
 * @param attachments Files the options refer to.
 * @returns The interaction payload.
 */
export function slashCommand(
  name: string,
  options: Record<string, unknown>[] = [],
  actor: Actor = {},
  attachments: AttachmentPayload[] = [],
): Record<string, unknown> {
  return {
    type: 2,
    ...where(actor),
    data: {
      id: snowflake(),
      name,
      type: 1,
      ...(options.length ? { options } : {}),
      ...(attachments.length
        ? { resolved: { attachments: Object.fromEntries(attachments.map((a) => [a.id, a])) } }
        : {}),
    },
  };
}

/**
 * A subcommand of a command group, e.g. `/party start name:Friday`.
 *
 * @param name The command.
 * @param sub The subcommand.
 * @param options The subcommand's options.
 * @param actor Who runs it, where.
 * @returns The interaction payload.
 */
export function subcommand(
  name: string,
  sub: string,
  options: Record<string, unknown>[] = [],
  actor: Actor = {},
): Record<string, unknown> {
  return slashCommand(name, [{ name: sub, type: 1, options }], actor);
}

/**
 * `/similar` with a file and any other options.
 *
 * @param clip The file.
 * @param extra Other options (`k`, `genre`, `start`).
 * @param actor Who runs it, where.
 * @returns The interaction payload.
 */
export function similarCommand(
  clip: AttachmentPayload,
  extra: Record<string, unknown>[] = [],
  actor: Actor = {},
): Record<string, unknown> {
  return slashCommand("similar", [{ name: "clip", type: 11, value: clip.id }, ...extra], actor, [clip]);
}

/**
 * A message context-menu command (Apps → name) on a message.
 *
 * @param name The command, e.g. `Find similar tracks`.
 * @param target The message, as the fake's `message()` makes it.
 * @param actor Who runs it, where.
 * @returns The interaction payload.
 */
export function messageCommand(
  name: string,
  target: Record<string, unknown>,
  actor: Actor = {},
): Record<string, unknown> {
  return {
    type: 2,
    ...where(actor),
    data: {
      id: snowflake(),
      name,
      type: 3,
      target_id: target.id,
      resolved: { messages: { [target.id as string]: target } },
    },
  };
}

/**
 * A button pressed on a message.
 *
 * @param customId The button's custom id, e.g. `more:12`.
 * @param message The message it is on.
 * @param actor Who presses it, where.
 * @returns The interaction payload.
 */
export function buttonPress(
  customId: string,
  message: Record<string, unknown>,
  actor: Actor = {},
): Record<string, unknown> {
  return { type: 3, ...where(actor), message, data: { custom_id: customId, component_type: 2 } };
}

/**
 * An autocomplete request while typing a string option of a command.
 *
 * @param name The command.
 * @param option The focused option.
 * @param typed What has been typed so far.
 * @param actor Who types, where.
 * @returns The interaction payload.
 */
export function autocomplete(
  name: string,
  option: string,
  typed: string,
  actor: Actor = {},
): Record<string, unknown> {
  return {
    type: 4,
    ...where(actor),
    data: {
      id: snowflake(),
      name,
      type: 1,
      options: [{ name: option, type: 3, value: typed, focused: true }],
    },
  };
}
