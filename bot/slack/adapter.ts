/**
 * The Slack adapter: the one module that talks to Bolt. Slash commands cannot carry files, so
 * `/similar` opens a modal with a file input; the message shortcut "Find similar tracks" and a
 * mention with an audio file answer in the message's thread. Every request is acknowledged at once
 * (Slack's 3 s rule), work continues after; Events API retries are recognised by event id and not
 * processed twice. HTTP by default (signatures and timestamps checked by Bolt), Socket Mode with
 * an app-level token. Files are fetched from `url_private` with the bot token, which is sent to
 * Slack's file hosts only.
 * @module
 */
import { createServer, type Server } from "node:http";
import bolt from "@slack/bolt";
import type { SlackConfig } from "../../core/mod.ts";
import { type Answer, notice } from "../answer.ts";
import { looksLikeAudio } from "../audio_files.ts";
import type { BotServices, ClipRef, Requester } from "../context.ts";
import { runHelp } from "../handlers/help.ts";
import { runMoreLike } from "../handlers/more_like.ts";
import {
  partyForMessage,
  type PartyRequest,
  type PartyServices,
  partyShare,
  runParty,
} from "../handlers/party.ts";
import { checkSimilarRequest, runSimilar, type SimilarRequest } from "../handlers/similar.ts";
import { errorNotice } from "../handlers/_errors.ts";
import { findLinks } from "../links.ts";
import { type Block, MORE_LIKE_ACTION, renderSlack } from "./render.ts";

/** A running Slack app. */
export interface SlackBot {
  /** The HTTP receiver's port (`undefined` in Socket Mode). */
  readonly port: number | undefined;
  /** Posts an answer in a channel (a party that ended while idle), with its files. */
  post(channelId: string, answer: Answer): Promise<void>;
  /** Stops taking requests, lets running ones answer, then closes the server or socket. */
  stop(): Promise<void>;
}

/** A file as Slack describes it in events, shortcuts and file inputs. */
interface SlackFile {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  filetype?: string;
  size?: number;
  url_private?: string;
  url_private_download?: string;
}

/** Where an answer goes. */
interface Destination {
  channel: string;
  threadTs?: string | undefined;
  user: string;
}

const MODAL_ID = "similar_modal";
/** The message shortcut's callback id (as in `manifest.json`). */
export const SLACK_SHORTCUT = "find_similar";
/** The slash commands the app answers (as in `manifest.json`). */
export const SLACK_COMMANDS: readonly string[] = ["/similar", "/reindex", "/soundalike", "/party"];
/** The Events API events the app subscribes to (as in `manifest.json`). */
export const SLACK_EVENTS: readonly string[] = ["app_mention", "message.channels", "message.groups"];
const SEEN_EVENTS = 2000;

/**
 * Verifies the token (`auth.test`), builds the Bolt app and starts its receiver.
 *
 * @param services The bot's services.
 * @param config Slack's settings.
 * @returns The running app.
 * @throws {Error} When Slack refuses the token.
 */
export async function startSlack(services: PartyServices, config: SlackConfig): Promise<SlackBot> {
  const { logger } = services;
  const web = new bolt.webApi.WebClient(config.botToken, {
    slackApiUrl: config.apiUrl,
    logger: quiet(logger),
  });
  const auth = await web.auth.test();
  const boltLogger = quiet(logger);
  const receiver = config.appToken ? undefined : new bolt.HTTPReceiver({
    signingSecret: config.signingSecret ?? "",
    logger: boltLogger,
    // Our listeners ack first and work afterwards; a request nobody handles gets a 404 soon.
    unhandledRequestTimeoutMillis: 2500,
  });
  const app = new bolt.App({
    token: config.botToken,
    ...(receiver ? { receiver } : { appToken: config.appToken!, socketMode: true }),
    clientOptions: { slackApiUrl: config.apiUrl },
    tokenVerificationEnabled: false,
    ...(auth.bot_id ? { botId: auth.bot_id } : {}),
    ...(auth.user_id ? { botUserId: auth.user_id } : {}),
    logger: boltLogger,
  });
  const client = app.client;
  const inflight = new Set<Promise<void>>();
  const seen: string[] = [];
  let stopping = false;

  /** Runs work after the ack, tracked for shutdown, errors logged. */
  const background = (what: string, work: () => Promise<void>) => {
    const p = work().catch((err) => logger.error(`Slack ${what} failed`, { err }));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const requesterOf = (user: string, name?: string): Requester => ({
    platform: "slack",
    userId: user,
    name: name ?? `<@${user}>`,
    isAdmin: config.adminUserIds.includes(user),
  });

  const clipOf = (f: SlackFile): ClipRef => ({
    name: f.name ?? f.title ?? "clip",
    size: f.size,
    contentType: f.mimetype,
    location: {
      kind: "url",
      url: f.url_private_download ?? f.url_private ?? "",
      policy: {
        allowedHosts: config.fileHosts,
        credentials: { authorization: `Bearer ${config.botToken}` },
        sourceName: "Slack's file servers",
      },
    },
  });

  const audioFile = (files: SlackFile[] | undefined): SlackFile | undefined =>
    files?.find((f) => looksLikeAudio(f.name ?? "", f.mimetype, true));

  const post = async (to: Destination, answer: Answer) =>
    await client.chat.postMessage({
      channel: to.channel,
      ...(to.threadTs ? { thread_ts: to.threadTs } : {}),
      ...renderSlack(answer),
      unfurl_links: false,
      unfurl_media: false,
    });

  const postPrivately = async (to: Destination, answer: Answer) => {
    const body = { channel: to.channel, user: to.user, ...renderSlack(answer) };
    await client.chat.postEphemeral({ ...body, ...(to.threadTs ? { thread_ts: to.threadTs } : {}) })
      // Not in that channel (a modal from elsewhere): a direct message still reaches the person.
      .catch(() => client.chat.postMessage({ channel: to.user, ...renderSlack(answer) }));
  };

  /**
   * The Slack counterpart of Discord's deferred reply: a "listening" message, updated with the
   * answer; errors replace it with a private notice.
   */
  const answerWith = async (
    to: Destination,
    first: Answer,
    work: (update: (a: Answer) => Promise<void>) => Promise<Answer>,
  ) => {
    const placeholder = await post(to, first);
    const ts = placeholder.ts!;
    const channel = placeholder.channel ?? to.channel;
    const update = async (a: Answer) => {
      await client.chat.update({ channel, ts, ...renderSlack(a) }).catch((err) =>
        logger.warn("Slack update failed", { err })
      );
    };
    let answer: Answer;
    try {
      answer = await work(update);
    } catch (err) {
      answer = errorNotice(err, logger, { platform: "slack" });
    }
    if (answer.kind === "notice" && answer.tone === "error") {
      await client.chat.delete({ channel, ts }).catch(() => {});
      await postPrivately(to, answer);
      return;
    }
    await update(answer);
  };

  const similar = async (to: Destination, request: SimilarRequest) => {
    const checked = await checkSimilarRequest(services, request);
    if (checked.kind !== "checked") return await postPrivately(to, checked);
    await answerWith(
      to,
      notice("wait", "working", `Listening to ${checked.clip.name}…`),
      (update) => runSimilar(services, checked, update),
    );
  };

  // ---- /similar: a modal with a file input -------------------------------------------------
  app.command("/similar", async ({ ack, command, body }) => {
    await ack();
    if (stopping) return;
    const genres = await services.app.genres().catch(() => []);
    await client.views.open({
      trigger_id: body.trigger_id,
      view: similarModal(
        command.channel_id,
        genres.map((g) => g.genre),
        services.app.config.bot.maxResults,
      ) as never,
    });
  });

  app.view(MODAL_ID, async ({ ack, view, body }) => {
    const values = view.state.values as unknown as Record<string, Record<string, Record<string, unknown>>>;
    const files = values.clip?.clip?.files as SlackFile[] | undefined;
    if (!files?.length) {
      await ack({
        response_action: "errors",
        errors: { clip: "Upload an audio clip (MP3, OGG, WAV, FLAC, M4A…)" },
      });
      return;
    }
    await ack();
    const channel = (JSON.parse(view.private_metadata || "{}") as { channel?: string }).channel ??
      body.user.id;
    const k = (values.k?.k?.selected_option as { value?: string } | undefined)?.value;
    const genre = (values.genre?.genre?.selected_option as { value?: string } | undefined)?.value;
    const start = values.start?.start?.value as string | undefined;
    background("modal", () =>
      similar({ channel, user: body.user.id }, {
        requester: requesterOf(body.user.id, body.user.name),
        clip: clipOf(audioFile(files) ?? files[0]!),
        k: k === undefined ? undefined : Number(k),
        genre: genre || undefined,
        start: start || undefined,
      }));
  });

  // ---- message shortcut and mentions: answer in the thread --------------------------------
  app.shortcut(SLACK_SHORTCUT, async ({ ack, shortcut }) => {
    await ack();
    if (shortcut.type !== "message_action" || stopping) return;
    const message = shortcut.message as { ts: string; thread_ts?: string; files?: SlackFile[] };
    const to = {
      channel: shortcut.channel.id,
      threadTs: message.thread_ts ?? message.ts,
      user: shortcut.user.id,
    };
    const file = audioFile(message.files);
    background("shortcut", async () => {
      if (!file) {
        return await postPrivately(
          to,
          notice("error", "bad_request", "That message has no audio file: use this on a message with a clip"),
        );
      }
      await similar(to, { requester: requesterOf(shortcut.user.id, shortcut.user.name), clip: clipOf(file) });
    });
  });

  /** Whether an Events API event was handled already (Slack retries when an ack is late). */
  const repeated = (body: unknown, retryNum: number | undefined): boolean => {
    const eventId = (body as { event_id?: string }).event_id;
    if (eventId === undefined) return false;
    if (seen.includes(eventId)) {
      logger.info("Ignoring a repeated Slack event", { eventId, retry: retryNum });
      return true;
    }
    seen.push(eventId);
    if (seen.length > SEEN_EVENTS) seen.shift();
    return false;
  };

  app.event("app_mention", ({ event, body, context }) => {
    if (repeated(body, context.retryNum)) return Promise.resolve();
    if (stopping || !event.user) return Promise.resolve();
    const files = (event as { files?: SlackFile[] }).files;
    const to = { channel: event.channel, threadTs: event.thread_ts ?? event.ts, user: event.user };
    const file = audioFile(files);
    background("mention", async () => {
      // In a party's channel the message event answers it as a share.
      // (Unknown while the database is down: then it is answered here, with why it cannot be.)
      if (await partyForMessage(services, { platform: "slack", channelId: event.channel })) return;
      if (!file) {
        await post(
          to,
          notice(
            "info",
            "bad_request",
            "Mention me in a message with an audio file and I'll find tracks that sound like it",
          ),
        );
        return;
      }
      await similar(to, { requester: requesterOf(event.user!), clip: clipOf(file) });
    });
    return Promise.resolve();
  });

  // ---- "More like #n" -----------------------------------------------------------------------
  app.action(new RegExp(`^${MORE_LIKE_ACTION}_\\d+$`), async ({ ack, body, action }) => {
    await ack();
    if (body.type !== "block_actions" || stopping) return;
    const trackId = Number((action as { value?: string }).value);
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const channel = body.channel?.id ?? body.user.id;
    const to = { channel, threadTs: message?.thread_ts ?? message?.ts, user: body.user.id };
    background(
      "more like",
      () =>
        answerWith(
          to,
          notice("wait", "working", "Looking for more like that…"),
          () => runMoreLike(services, { requester: requesterOf(body.user.id, body.user.name), trackId }),
        ),
    );
  });

  // ---- listening parties ----------------------------------------------------------------------
  app.command("/party", async ({ ack, command }) => {
    await ack();
    if (stopping) return;
    const [sub = "", ...rest] = command.text.trim().split(/\s+/);
    const to = { channel: command.channel_id, user: command.user_id };
    const requester = requesterOf(command.user_id, command.user_name);
    const request: PartyRequest = {
      requester,
      channel: { platform: "slack", channelId: command.channel_id },
      canHost: services.app.config.party.slackHosts === "everyone" || requester.isAdmin,
    };
    background("party", async () => {
      const answer = await runParty(services, request, sub, rest.join(" "));
      if (answer.kind === "notice" && answer.tone === "error") return await postPrivately(to, answer);
      await postWithFiles(to.channel, undefined, answer);
    });
  });

  app.event("message", ({ event, body, context }) => {
    const m = event as {
      subtype?: string;
      bot_id?: string;
      user?: string;
      text?: string;
      files?: SlackFile[];
      channel: string;
      ts: string;
      thread_ts?: string;
    };
    // New messages and file shares by people only: not edits, deletions, joins or bots (ourselves included).
    if ((m.subtype !== undefined && m.subtype !== "file_share") || m.bot_id || !m.user || stopping) {
      return Promise.resolve();
    }
    if (repeated(body, context.retryNum)) return Promise.resolve();
    const clips = (m.files ?? []).filter((f) => audioFile([f])).map(clipOf);
    const links = findLinks(m.text ?? "", "slack");
    if (clips.length === 0 && links.length === 0) return Promise.resolve();
    const to = { channel: m.channel, threadTs: m.thread_ts ?? m.ts, user: m.user };
    background("party share", async () => {
      const answers = await partyShare(services, {
        requester: requesterOf(m.user!),
        channel: { platform: "slack", channelId: m.channel },
        clips,
        links,
      });
      for (const answer of answers) await post(to, answer);
    });
    return Promise.resolve();
  });

  /** Posts an answer, then uploads its files (a party's playlist) in the same thread. */
  const postWithFiles = async (channel: string, threadTs: string | undefined, answer: Answer) => {
    const posted = await post({ channel, threadTs, user: "" }, answer);
    if (answer.kind !== "party_summary") return;
    await client.filesUploadV2({
      channel_id: posted.channel ?? channel,
      thread_ts: posted.ts!,
      initial_comment: `The playlist of “${answer.name}”`,
      file_uploads: answer.files.map((f) => ({ content: f.content, filename: f.name, title: f.name })),
    });
  };

  // ---- /reindex (admins) and /soundalike (help) -----------------------------------------------
  app.command("/reindex", async ({ ack, command }) => {
    await ack();
    if (stopping) return;
    const to = { channel: command.channel_id, user: command.user_id };
    background("reindex", async () => {
      const requester = requesterOf(command.user_id, command.user_name);
      if (!requester.isAdmin && config.allowWorkspaceAdmins) {
        const info = await client.users.info({ user: command.user_id }).catch(() => undefined);
        requester.isAdmin = Boolean(info?.user?.is_admin || info?.user?.is_owner);
      }
      const posted: { where?: { channel: string; ts: string } } = {};
      let markPosted!: () => void;
      let chain: Promise<void> = new Promise<void>((resolve) => (markPosted = resolve));
      // Updates wait for the first message and go out in order: the summary is the last word.
      const show = (answer: Answer) => (chain = chain.then(async () => {
        if (posted.where) {
          await client.chat.update({ ...posted.where, ...renderSlack(answer) }).catch((err) =>
            logger.warn("Slack update failed", { err })
          );
        }
      }));
      const run = await services.reindex.start({ requester }, show);
      if (!run.started) return await postPrivately(to, run.answer);
      const first = await post(to, run.answer);
      posted.where = { channel: first.channel ?? to.channel, ts: first.ts! };
      markPosted();
      await show(await run.done);
    });
  });

  app.command("/soundalike", async ({ ack }) => {
    const help = renderSlack(await runHelp(services, "slack"));
    await ack({ response_type: "ephemeral", ...help } as Parameters<typeof ack>[0]);
  });

  app.error((err) => {
    logger.error("Slack app error", { err });
    return Promise.resolve();
  });

  let server: Server | undefined;
  if (receiver) {
    server = createServer((req, res) => receiver.requestListener(req, res));
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(config.port, "0.0.0.0", () => resolve());
    });
  } else {
    await app.start();
  }
  const address = server?.address();
  const port = typeof address === "object" && address ? address.port : undefined;
  logger.info(receiver ? `Slack: listening on port ${port}` : "Slack: connected in Socket Mode");

  return {
    port,
    post: (channel, answer) => postWithFiles(channel, undefined, answer),
    async stop() {
      stopping = true;
      await Promise.allSettled([...inflight]);
      if (server) {
        // Idle keep-alive sockets would hold close() open.
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      } else {
        await app.stop();
      }
    },
  };
}

/**
 * The `/similar` modal: a file input, and optional count, genre and start time.
 *
 * @param channel Where the answer is posted (kept in `private_metadata`).
 * @param genres The catalog's genres for the select (at most 100).
 * @param maxResults The largest count offered.
 * @returns The view.
 */
export function similarModal(
  channel: string,
  genres: readonly string[],
  maxResults: number,
): Record<string, unknown> {
  const option = (text: string) => ({
    text: { type: "plain_text", text: text.slice(0, 75) },
    value: text.slice(0, 150),
  });
  const blocks: Block[] = [
    {
      type: "input",
      block_id: "clip",
      label: { type: "plain_text", text: "Audio clip" },
      element: {
        type: "file_input",
        action_id: "clip",
        filetypes: ["mp3", "ogg", "wav", "flac", "m4a", "opus", "aac", "webm", "mp4"],
        max_files: 1,
      },
    },
    {
      type: "input",
      block_id: "k",
      optional: true,
      label: { type: "plain_text", text: "How many tracks" },
      element: {
        type: "static_select",
        action_id: "k",
        initial_option: option("5"),
        options: Array.from({ length: maxResults }, (_, i) => option(String(i + 1))),
      },
    },
  ];
  if (genres.length) {
    blocks.push({
      type: "input",
      block_id: "genre",
      optional: true,
      label: { type: "plain_text", text: "Only this genre" },
      element: { type: "static_select", action_id: "genre", options: genres.slice(0, 100).map(option) },
    });
  }
  blocks.push({
    type: "input",
    block_id: "start",
    optional: true,
    label: { type: "plain_text", text: "Start at (m:ss)" },
    element: {
      type: "plain_text_input",
      action_id: "start",
      max_length: 12,
      placeholder: { type: "plain_text", text: "1:30" },
    },
  });
  return {
    type: "modal",
    callback_id: MODAL_ID,
    private_metadata: JSON.stringify({ channel }),
    title: { type: "plain_text", text: "Find similar tracks" },
    submit: { type: "plain_text", text: "Find" },
    close: { type: "plain_text", text: "Cancel" },
    blocks,
  };
}

/** Bolt's and the Web API client's logs, at debug level in ours (their info is chatty). */
function quiet(logger: BotServices["logger"]) {
  let level = bolt.LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => logger.debug(`slack: ${m.map(String).join(" ")}`),
    info: (...m: unknown[]) => logger.debug(`slack: ${m.map(String).join(" ")}`),
    warn: (...m: unknown[]) => logger.warn(`slack: ${m.map(String).join(" ")}`),
    error: (...m: unknown[]) => logger.error(`slack: ${m.map(String).join(" ")}`),
    setLevel: (l: typeof level) => void (level = l),
    getLevel: () => level,
    setName: () => {},
  };
}
