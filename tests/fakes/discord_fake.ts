/**
 * A local stand-in for Discord, enough for the real discord.js client: the REST API (`/api/v10/…`,
 * every call recorded), `GET /gateway/bot` naming a gateway WebSocket on the same port, and that
 * gateway (HELLO, READY after IDENTIFY, heartbeat ACKs, and whatever dispatches a test sends, such
 * as `INTERACTION_CREATE`). No network beyond 127.0.0.1.
 *
 * @module
 */
import { waitForCall } from "./_wait.ts";

/** One REST call the bot made. */
export interface RestCall {
  method: string;
  /** Path after `/api/v10`, e.g. `/interactions/1/tok/callback`. */
  path: string;
  /** The parsed JSON body (or the `payload_json` part of a multipart body), if any. */
  body: unknown;
  /** Names of files sent in a multipart body. */
  files: string[];
  /** When the call arrived (`performance.now()`). */
  at: number;
}

/** The fake's handle. */
export interface DiscordFake {
  /** `http://127.0.0.1:<port>/api`: the bot's `DISCORD_API_URL`. */
  readonly apiUrl: string;
  readonly applicationId: string;
  readonly botUserId: string;
  /** Every REST call, in order. */
  readonly calls: RestCall[];
  /** Resolves once a client has identified and received READY. */
  ready(): Promise<void>;
  /**
   * Sends a gateway dispatch (op 0) to the connected client: to the shard of `data.guild_id`
   * (Discord's rule, `(guild_id >> 22) % shards`), shard 0 without one.
   */
  dispatch(type: string, data: unknown): void;
  /** The `[shard id, shard count]` of every IDENTIFY, in order. */
  readonly identified: [number, number][];
  /** Which shard each dispatch went to. */
  readonly dispatched: { type: string; shard: number; guildId: string | undefined }[];
  /** Resolves once `n` shards have identified and received READY. */
  shardsReady(n: number): Promise<void>;
  /**
   * Sends an `INTERACTION_CREATE` and returns its id and token (to find its REST calls).
   * Fills `id`, `token`, `application_id`, `version` unless given.
   */
  interact(data: Record<string, unknown>): { id: string; token: string };
  /** A complete message object (as Discord sends them), remembered by id. */
  message(fields: Record<string, unknown>): Record<string, unknown>;
  /** Waits until a recorded call satisfies `match` (polling), or fails after `timeoutMs`. */
  waitFor(match: (call: RestCall) => boolean, timeoutMs?: number): Promise<RestCall>;
  /** Closes the server and any socket. */
  close(): Promise<void>;
}

const APP_ID = "111111111111111111";
const BOT_ID = "222222222222222222";
/** The fake's one guild and its text channel. */
export const GUILD_ID = "555555555555555555";
export const CHANNEL_ID = "444444444444444444";
let nextSnowflake = 300000000000000000n;
/**
 * A guild member as interactions carry it.
 *
 * @param permissions The member's permissions in the channel, as a decimal bit field.
 * @param id The user's id.
 * @returns The member object.
 */
export function member(permissions: string, id = "666666666666666666"): Record<string, unknown> {
  return {
    user: { id, username: `user${id.slice(-2)}`, discriminator: "0", avatar: null, global_name: null },
    permissions,
    roles: [],
    joined_at: new Date().toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
  };
}

/** A fresh Discord-style id. */
export const snowflake = (): string => String(nextSnowflake++);

/**
 * The shard a guild's events go to: Discord's `(guild_id >> 22) % shard_count`.
 *
 * @param guildId The guild's id.
 * @param shards The number of shards.
 * @returns The shard id.
 */
export function shardOf(guildId: string, shards: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shards));
}

/**
 * Starts the fake on a random local port.
 *
 * @param options `refusePrivilegedIntents`: close with 4014 (disallowed intents) when a client asks
 *   for Message Content, as Discord does when the intent is not enabled for the application.
 *   `shards`: the shard count `GET /gateway/bot` recommends (default 1). `guilds`: more guild ids
 *   (each with a text channel of id guild id + 1), each announced to the shard it belongs to.
 * @returns The fake's handle.
 */
export function startDiscordFake(
  options: { refusePrivilegedIntents?: boolean; shards?: number; guilds?: string[] } = {},
): DiscordFake {
  const calls: RestCall[] = [];
  const sockets = new Map<number, WebSocket>();
  let shardCount = 1;
  const identified: [number, number][] = [];
  const dispatched: { type: string; shard: number; guildId: string | undefined }[] = [];
  let seq = 0;
  let resolveReady: () => void;
  const readyPromise = new Promise<void>((r) => (resolveReady = r));
  const readyWaiters: { n: number; resolve: () => void }[] = [];
  const readyShards = new Set<number>();
  const messages = new Map<string, Record<string, unknown>>();

  const sendTo = (shard: number, payload: unknown) => sockets.get(shard)?.send(JSON.stringify(payload));
  const message = (body: Record<string, unknown>, id = snowflake()): Record<string, unknown> => {
    const msg = {
      id,
      channel_id: "444444444444444444",
      author: { id: BOT_ID, username: "Soundalike", discriminator: "0", avatar: null, bot: true },
      content: "",
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      type: 0,
      flags: 0,
      ...body,
    };
    messages.set(id, msg);
    return msg;
  };

  let port = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/gateway") {
      const { socket: ws, response } = Deno.upgradeWebSocket(req);
      // Which shard this socket is, known from its IDENTIFY (0 until then).
      let shard = 0;
      const send = (payload: unknown) => ws.send(JSON.stringify(payload));
      ws.onopen = () => send({ op: 10, d: { heartbeat_interval: 45000 }, s: null, t: null });
      ws.onmessage = (ev) => {
        const msg = JSON.parse(String(ev.data)) as { op: number; d: unknown };
        if (msg.op === 2) {
          const [id, count] = (msg.d as { shard?: [number, number] }).shard ?? [0, 1];
          shard = id;
          shardCount = count;
          sockets.set(shard, ws);
          identified.push([id, count]);
        }
        if (msg.op === 1) send({ op: 11, d: null, s: null, t: null });
        const MESSAGE_CONTENT = 1 << 15;
        if (
          msg.op === 2 && options.refusePrivilegedIntents &&
          ((msg.d as { intents: number }).intents & MESSAGE_CONTENT)
        ) {
          ws.close(4014, "Disallowed intent(s)");
          return;
        }
        if (msg.op === 2) {
          send({
            op: 0,
            s: ++seq,
            t: "READY",
            d: {
              v: 10,
              user: { id: BOT_ID, username: "Soundalike", discriminator: "0", avatar: null, bot: true },
              guilds: [],
              session_id: `fake-session-${shard}`,
              shard: [shard, shardCount],
              resume_gateway_url: `ws://127.0.0.1:${port}/gateway`,
              application: { id: APP_ID, flags: 0 },
              private_channels: [],
            },
          });
          // The test guilds with one text channel each, so channel messages (parties) reach the client;
          // each is announced on its own shard only.
          const guilds = [GUILD_ID, ...(options.guilds ?? [])].filter((g) =>
            shardOf(g, shardCount) === shard
          );
          for (const guildId of guilds) {
            const channelId = guildId === GUILD_ID ? CHANNEL_ID : String(BigInt(guildId) + 1n);
            send({
              op: 0,
              s: ++seq,
              t: "GUILD_CREATE",
              d: {
                id: guildId,
                name: "Test server",
                icon: null,
                owner_id: "999999999999999999",
                afk_timeout: 300,
                verification_level: 0,
                default_message_notifications: 0,
                explicit_content_filter: 0,
                roles: [{
                  id: guildId,
                  name: "@everyone",
                  permissions: "0",
                  position: 0,
                  color: 0,
                  hoist: false,
                  managed: false,
                  mentionable: false,
                  flags: 0,
                }],
                emojis: [],
                features: [],
                mfa_level: 0,
                system_channel_flags: 0,
                premium_tier: 0,
                preferred_locale: "en-US",
                nsfw_level: 0,
                member_count: 2,
                members: [],
                channels: [{
                  id: channelId,
                  type: 0,
                  guild_id: guildId,
                  name: "music",
                  position: 0,
                  permission_overwrites: [],
                  nsfw: false,
                  parent_id: null,
                  topic: null,
                  last_message_id: null,
                  rate_limit_per_user: 0,
                }],
                threads: [],
                stickers: [],
                stage_instances: [],
                guild_scheduled_events: [],
                soundboard_sounds: [],
                voice_states: [],
                presences: [],
                large: false,
                unavailable: false,
                joined_at: new Date().toISOString(),
              },
            });
          }
          resolveReady();
          readyShards.add(shard);
          for (const w of readyWaiters.filter((w) => readyShards.size >= w.n)) {
            readyWaiters.splice(readyWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
      };
      return response;
    }
    const m = /^\/api\/v\d+(\/.*)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const path = decodeURIComponent(m[1]!);
    const { body, files } = await readBody(req);
    calls.push({ method: req.method, path, body, files, at: performance.now() });
    if (path === "/gateway/bot") {
      return Response.json({
        url: `ws://127.0.0.1:${port}/gateway`,
        shards: options.shards ?? 1,
        // Enough concurrency that discord.js identifies several shards without its 5 s spacing.
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 16 },
      });
    }
    if (path === "/oauth2/applications/@me" || path === "/applications/@me") {
      return Response.json({ id: APP_ID, name: "Soundalike", flags: 0, bot_public: true });
    }
    if (/^\/interactions\/\d+\/[^/]+\/callback$/.test(path)) {
      return url.searchParams.get("with_response") === "true"
        ? Response.json({ interaction: { id: path.split("/")[2], type: 2 } })
        : new Response(null, { status: 204 });
    }
    const hook = /^\/webhooks\/\d+\/([^/]+)(?:\/messages\/([^/?]+))?$/.exec(path);
    if (hook) {
      const key = hook[2] === "@original" ? `original:${hook[1]}` : hook[2];
      if (req.method === "DELETE") {
        if (key) messages.delete(key);
        return new Response(null, { status: 204 });
      }
      if (req.method === "PATCH" && key) {
        const prior = messages.get(key) ?? message({}, key);
        return Response.json(message({ ...prior, ...(body as object) }, key));
      }
      if (req.method === "GET" && key) return Response.json(messages.get(key) ?? message({}, key));
      return Response.json(message(body as Record<string, unknown>));
    }
    if (/^\/applications\/\d+(\/guilds\/\d+)?\/commands$/.test(path)) {
      return Response.json(Array.isArray(body) ? body.map((c) => ({ ...c, id: snowflake() })) : []);
    }
    if (/^\/channels\/\d+\/messages\/\d+\/reactions\//.test(path)) return new Response(null, { status: 204 });
    const thread = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path);
    if (thread) {
      return Response.json({
        id: snowflake(),
        type: 11,
        guild_id: GUILD_ID,
        parent_id: thread[1],
        name: (body as { name?: string }).name ?? "thread",
        owner_id: BOT_ID,
        thread_metadata: {
          archived: false,
          auto_archive_duration: 1440,
          archive_timestamp: new Date().toISOString(),
          locked: false,
        },
        message_count: 0,
        member_count: 1,
        rate_limit_per_user: 0,
        flags: 0,
      });
    }
    const channelMsg = /^\/channels\/(\d+)\/messages(?:\/(\d+))?$/.exec(path);
    if (channelMsg) {
      if (req.method === "PATCH") {
        return Response.json(message(body as Record<string, unknown>, channelMsg[2]));
      }
      return Response.json(message({ ...(body as object), channel_id: channelMsg[1] }));
    }
    return Response.json({});
  });

  port = server.addr.port;
  const fake: DiscordFake = {
    apiUrl: `http://127.0.0.1:${server.addr.port}/api`,
    applicationId: APP_ID,
    botUserId: BOT_ID,
    calls,
    ready: () => readyPromise,
    identified,
    dispatched,
    shardsReady: (n) =>
      readyShards.size >= n ? Promise.resolve() : new Promise((resolve) => readyWaiters.push({ n, resolve })),
    message: (fields) => message(fields),
    dispatch(type, data) {
      const guildId = (data as { guild_id?: string } | null)?.guild_id ?? undefined;
      const shard = guildId === undefined ? 0 : shardOf(guildId, shardCount);
      dispatched.push({ type, shard, guildId });
      sendTo(shard, { op: 0, s: ++seq, t: type, d: data });
    },
    interact(data) {
      const id = (data.id as string | undefined) ?? snowflake();
      const token = (data.token as string | undefined) ?? `tok-${id}`;
      fake.dispatch("INTERACTION_CREATE", {
        application_id: APP_ID,
        version: 1,
        locale: "en-US",
        app_permissions: "0",
        entitlements: [],
        authorizing_integration_owners: {},
        // Discord sends the channel as an object too (discord.js reads the id from it).
        ...(typeof data.channel_id === "string" && data.channel === undefined
          ? {
            channel: {
              id: data.channel_id,
              type: 0,
              guild_id: data.guild_id ?? null,
              name: "music",
              flags: 0,
            },
          }
          : {}),
        ...data,
        id,
        token,
      });
      return { id, token };
    },
    waitFor: (match, timeoutMs) => waitForCall(calls, match, (c) => `${c.method} ${c.path}`, timeoutMs),
    async close() {
      for (const socket of sockets.values()) {
        try {
          socket.close();
        } catch { /* already closed */ }
      }
      await server.shutdown();
    },
  };
  return fake;
}

/**
 * The calls that post or change a message (interaction replies and updates, follow-ups, edits,
 * channel and thread messages), each with the message body sent.
 *
 * @param calls The fake's record.
 * @returns Each such call and its message body (`data` of an interaction callback).
 */
export function messagePayloads(
  calls: readonly RestCall[],
): { call: RestCall; message: Record<string, unknown> }[] {
  const out: { call: RestCall; message: Record<string, unknown> }[] = [];
  for (const call of calls) {
    const body = call.body as Record<string, unknown> | undefined;
    if (body === undefined || !["POST", "PATCH"].includes(call.method)) continue;
    if (/^\/interactions\/\d+\/[^/]+\/callback$/.test(call.path)) {
      // 4: a reply, 7: a component's message updated (5 and 6 defer, 8 answers autocomplete).
      if (body.type === 4 || body.type === 7) {
        out.push({ call, message: (body.data ?? {}) as Record<string, unknown> });
      }
    } else if (
      /^\/webhooks\/\d+\/[^/]+(\/messages\/[^/]+)?$/.test(call.path) ||
      /^\/channels\/\d+\/messages(\/\d+)?$/.test(call.path)
    ) {
      out.push({ call, message: body });
    }
  }
  return out;
}

/**
 * Fails unless every message the bot sent or edited says it mentions nobody
 * (`allowed_mentions: { parse: [] }`, no replied user), whatever its text.
 *
 * @param calls The fake's record.
 * @returns How many message payloads were checked.
 */
export function assertMentionsNobody(calls: readonly RestCall[]): number {
  const payloads = messagePayloads(calls);
  for (const { call, message } of payloads) {
    const allowed = message.allowed_mentions as { parse?: unknown; replied_user?: unknown } | undefined;
    const ok = allowed !== undefined && Array.isArray(allowed.parse) && allowed.parse.length === 0 &&
      allowed.replied_user !== true && !("users" in allowed && (allowed.users as unknown[]).length) &&
      !("roles" in allowed && (allowed.roles as unknown[]).length);
    if (!ok) {
      throw new Error(
        `${call.method} ${call.path} may mention someone: allowed_mentions = ${JSON.stringify(allowed)}`,
      );
    }
  }
  return payloads.length;
}

async function readBody(req: Request): Promise<{ body: unknown; files: string[] }> {
  const type = req.headers.get("content-type") ?? "";
  if (type.startsWith("multipart/form-data")) {
    const form = await req.formData();
    const files: string[] = [];
    let body: unknown;
    for (const [key, value] of form.entries()) {
      if (typeof value === "string") {
        if (key === "payload_json") body = JSON.parse(value);
      } else {
        files.push(value.name);
      }
    }
    return { body, files };
  }
  const text = await req.text();
  if (!text) return { body: undefined, files: [] };
  try {
    return { body: JSON.parse(text), files: [] };
  } catch {
    return { body: text, files: [] };
  }
}
