/**
 * The Discord adapter: the one module that talks to discord.js's client. It turns interactions into
 * handler requests and answers into messages: slash commands, the message context-menu command,
 * "More like" buttons and genre autocomplete. Cheap refusals are private replies at once; real work
 * is deferred first (Discord's 3 s rule) and always ends in an edited answer, never a spinner.
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type Attachment,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  Events,
  GatewayCloseCodes,
  GatewayIntentBits,
  type Interaction,
  type InteractionReplyOptions,
  type Message,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  PermissionFlagsBits,
  type RepliableInteraction,
} from "discord.js";
import type { DiscordConfig } from "../../core/mod.ts";
import { type Answer, notice } from "../answer.ts";
import { looksLikeAudio } from "../audio_files.ts";
import type { ClipRef, Requester } from "../context.ts";
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
import { beforeDeadline } from "../deadline.ts";
import { errorNotice, restartingNotice } from "../handlers/_errors.ts";
import { findLinks } from "../links.ts";
import { FIND_SIMILAR } from "./commands.ts";
import { type DiscordMessage, MORE_LIKE_PREFIX, noMentions, renderDiscord } from "./render.ts";

/** A running Discord bot. */
export interface DiscordBot {
  readonly client: Client;
  /** Whether the Message Content intent was granted (listening parties can see shared links and files). */
  readonly readsMessages: boolean;
  /** Posts an answer in a channel (a party that ended while idle). */
  post(channelId: string, answer: Answer): Promise<void>;
  /** Stops taking interactions, lets running ones answer, then disconnects. */
  stop(): Promise<void>;
}

/** Interaction tokens last 15 minutes; after 14, a long reindex posts its summary in the channel. */
const TOKEN_LIFETIME_MS = 14 * 60 * 1000;
/** A command not answered within this long is deferred (Discord drops it at 3 s). */
const DEFER_AFTER_MS = 2000;

/**
 * Logs in and starts answering interactions.
 *
 * @param services The bot's services.
 * @param config Discord's settings (token, REST base, CDN hosts).
 * @returns The running bot.
 */
export async function startDiscord(services: PartyServices, config: DiscordConfig): Promise<DiscordBot> {
  const { logger } = services;
  const inflight = new Set<Promise<void>>();
  let stopping = false;
  const track = (what: string, work: Promise<void>) => {
    const p = work.catch((err) => logger.error(`Discord ${what} failed`, { err }));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  /** Logs in; `undefined` when Discord refuses the privileged intents asked for. */
  const connect = async (intents: GatewayIntentBits[]): Promise<Client | undefined> => {
    // Nobody is mentioned by default either: a message sent without renderDiscord pings no one.
    // Sharding is discord.js's own: this process connects the shard ids it is given (all of them
    // by default), each receiving the interactions of its servers only.
    const shards = config.shards;
    const client = new Client({
      intents,
      rest: { api: config.apiUrl },
      allowedMentions: noMentions(),
      ...(shards === undefined ? {} : shards.count === "auto" ? { shards: "auto" as const } : {
        shards: shards.ids ?? Array.from({ length: shards.count }, (_, i) => i),
        shardCount: shards.count,
      }),
    });
    client.on(Events.InteractionCreate, (interaction) => track("interaction", route(interaction)));
    client.on(Events.MessageCreate, (message) => track("message", onMessage(message)));
    client.on(Events.Error, (err) => logger.error("Discord client error", { err }));
    const outcome = new Promise<"ready" | "refused">((resolve) => {
      client.once(Events.ClientReady, () => resolve("ready"));
      client.on(Events.ShardDisconnect, (event) => {
        if (event.code === GatewayCloseCodes.DisallowedIntents) resolve("refused");
      });
    });
    try {
      await client.login(config.token);
    } catch (err) {
      if (!(err instanceof Error && /disallowed intents/i.test(err.message))) {
        await client.destroy();
        throw err;
      }
      await client.destroy();
      return undefined;
    }
    if (await outcome === "ready") return client;
    await client.destroy();
    return undefined;
  };

  const clipOf = (att: Attachment): ClipRef => ({
    name: att.name,
    size: att.size,
    contentType: att.contentType ?? undefined,
    location: {
      kind: "url",
      url: att.url,
      policy: { allowedHosts: config.cdnHosts, sourceName: "Discord's CDN" },
    },
  });

  const requesterOf = (i: Interaction): Requester => ({
    platform: "discord",
    userId: i.user.id,
    name: i.user.globalName ?? i.user.username,
    isAdmin: i.inGuild() && (i.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false),
  });

  async function route(i: Interaction): Promise<void> {
    if (i.isAutocomplete()) return await autocomplete(i);
    if (!i.isRepliable()) return;
    if (stopping) {
      await replyPrivately(i, restartingNotice());
      return;
    }
    if (i.isChatInputCommand()) {
      if (i.commandName === "similar") return await similar(i, fromOptions(i));
      if (i.commandName === "party") return await party(i);
      if (i.commandName === "reindex") return await reindex(i);
      if (i.commandName === "help") return await replyPrivately(i, await runHelp(services, "discord"));
    } else if (i.isMessageContextMenuCommand() && i.commandName === FIND_SIMILAR) {
      return await similar(i, fromMessage(i));
    } else if (i.isButton() && i.customId.startsWith(MORE_LIKE_PREFIX)) {
      return await moreLike(i);
    }
  }

  function fromOptions(i: ChatInputCommandInteraction): SimilarRequest {
    const att = i.options.getAttachment("clip");
    return {
      requester: requesterOf(i),
      clip: att ? clipOf(att) : undefined,
      k: i.options.getInteger("k") ?? undefined,
      genre: i.options.getString("genre") ?? undefined,
      start: i.options.getString("start") ?? undefined,
    };
  }

  function fromMessage(i: MessageContextMenuCommandInteraction): SimilarRequest {
    const atts = [...i.targetMessage.attachments.values()];
    const audio = atts.find((a) => looksLikeAudio(a.name, a.contentType ?? undefined, true));
    return { requester: requesterOf(i), clip: audio ? clipOf(audio) : undefined };
  }

  async function similar(i: RepliableInteraction, request: SimilarRequest): Promise<void> {
    const checked = await checkSimilarRequest(services, request);
    if (checked.kind !== "checked") {
      const noClip = request.clip === undefined && i.isMessageContextMenuCommand();
      return await replyPrivately(
        i,
        noClip
          ? notice(
            "error",
            "bad_request",
            "That message has no audio attachment: use this on a message with a clip",
          )
          : checked,
      );
    }
    await i.deferReply();
    await finishDeferred(i, () => runSimilar(services, checked, (update) => edit(i, update)));
  }

  async function moreLike(i: ButtonInteraction): Promise<void> {
    const trackId = Number(i.customId.slice(MORE_LIKE_PREFIX.length));
    await i.deferReply();
    await finishDeferred(i, () => runMoreLike(services, { requester: requesterOf(i), trackId }));
  }

  async function reindex(i: ChatInputCommandInteraction): Promise<void> {
    if (!i.inGuild()) {
      return await replyPrivately(
        i,
        notice("error", "forbidden", "Run /reindex in a server where you manage it"),
      );
    }
    const startedAt = Date.now();
    const fresh = () => Date.now() - startedAt < TOKEN_LIFETIME_MS;
    // Edits wait for the first reply and go out in order, so the summary is always the last word.
    let markReplied!: () => void;
    let chain: Promise<void> = new Promise<void>((resolve) => (markReplied = resolve));
    const show = (answer: Answer) => (chain = chain.then(() => (fresh() ? edit(i, answer) : undefined)));
    const run = await services.reindex.start({ requester: requesterOf(i) }, show);
    if (!run.started) return await replyPrivately(i, run.answer);
    await i.reply(renderDiscord(run.answer));
    markReplied();
    const summary = await run.done;
    await show(summary);
    if (!fresh() && i.channel?.isSendable()) await i.channel.send(renderDiscord(summary));
  }

  async function party(i: ChatInputCommandInteraction): Promise<void> {
    if (!i.inGuild()) {
      return await replyPrivately(i, notice("error", "forbidden", "Parties happen in server channels"));
    }
    const request: PartyRequest = {
      requester: requesterOf(i),
      channel: { platform: "discord", channelId: i.channelId },
      canHost: services.app.config.party.discordHosts === "everyone" ||
        (i.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false),
    };
    const sub = i.options.getSubcommand();
    const work = () => runParty(services, request, sub, i.options.getString("name") ?? undefined);
    if (sub === "next") {
      await i.deferReply();
      return await finishDeferred(i, work);
    }
    await replySoon(i, work);
  }

  /**
   * Answers with one reply when the work is quick (errors privately); when it is not done within
   * {@linkcode DEFER_AFTER_MS} (a slow database), defers first so Discord's 3 s rule holds, then
   * edits. A failure becomes a kind private error either way.
   */
  async function replySoon(i: ChatInputCommandInteraction, work: () => Promise<Answer>): Promise<void> {
    const settled = work().then(
      (answer) => answer,
      (err) => errorNotice(err, logger, { platform: "discord" }),
    );
    const quick = await beforeDeadline(settled, DEFER_AFTER_MS);
    if (quick === undefined) {
      await i.deferReply();
      return await finishDeferred(i, () => settled);
    }
    if (quick.kind === "notice" && quick.tone === "error") return await replyPrivately(i, quick);
    await i.reply(withFiles(quick));
  }

  /** While a party is on in the channel: every audio attachment and supported link is answered in a thread. */
  async function onMessage(message: Message): Promise<void> {
    if (message.author.bot || stopping || !message.inGuild()) return;
    const clips = [...message.attachments.values()]
      .filter((a) => looksLikeAudio(a.name, a.contentType ?? undefined, true))
      .map(clipOf);
    const links = findLinks(message.content);
    if (clips.length === 0 && links.length === 0) return;
    const requester: Requester = {
      platform: "discord",
      userId: message.author.id,
      name: message.member?.displayName ?? message.author.globalName ?? message.author.username,
      isAdmin: false,
    };
    const channel = { platform: "discord", channelId: message.channelId };
    if (!(await partyForMessage(services, channel))) return;
    await message.react("🎧").catch(() => {});
    const answers = await partyShare(services, { requester, channel, clips, links });
    if (answers.length === 0) return;
    const thread = message.channel.isThread()
      ? undefined
      : await message.startThread({ name: `Soundalike · ${clips[0]?.name ?? "shared link"}`.slice(0, 100) })
        .catch(() => undefined);
    for (const answer of answers) {
      if (thread) await thread.send(renderDiscord(answer));
      else await message.reply(renderDiscord(answer));
    }
  }

  async function autocomplete(i: AutocompleteInteraction): Promise<void> {
    const typed = String(i.options.getFocused()).toLowerCase();
    const genres = await services.app.genres().catch(() => []);
    await i.respond(
      genres.filter((g) => g.genre.toLowerCase().includes(typed)).slice(0, 25)
        .map((g) => ({ name: `${g.genre} (${g.tracks})`.slice(0, 100), value: g.genre.slice(0, 100) })),
    );
  }

  /** Runs deferred work; whatever happens, the deferred reply is replaced by an answer. */
  async function finishDeferred(i: RepliableInteraction, work: () => Promise<Answer>): Promise<void> {
    let answer: Answer;
    try {
      answer = await work();
    } catch (err) {
      answer = errorNotice(err, logger, { platform: "discord" });
    }
    if (answer.kind === "notice" && answer.tone === "error") {
      // Errors are private: the public "thinking…" goes away and only the asker sees why.
      let deleted = false;
      try {
        await i.deleteReply();
        deleted = true;
        await i.followUp({ ...renderDiscord(answer), flags: MessageFlags.Ephemeral });
        return;
      } catch (err) {
        logger.debug("Could not answer privately, answering in the open instead", { err });
      }
      // With the "thinking…" reply gone there is nothing left to edit: a plain follow-up, then.
      if (deleted) {
        await i.followUp(renderDiscord(answer)).catch((err) =>
          logger.warn("Discord follow-up failed", { err })
        );
        return;
      }
    }
    await edit(i, answer);
  }

  async function edit(i: RepliableInteraction, answer: Answer): Promise<void> {
    await i.editReply(withFiles(answer)).catch((err) => logger.warn("Discord edit failed", { err }));
  }

  async function replyPrivately(i: RepliableInteraction, answer: Answer): Promise<void> {
    const body: InteractionReplyOptions = { ...renderDiscord(answer), flags: MessageFlags.Ephemeral };
    await (i.deferred || i.replied ? i.followUp(body) : i.reply(body));
  }

  // Parties need to read shared messages (the privileged Message Content intent); without it,
  // everything else still works and the log says how to enable it.
  let readsMessages = true;
  let client = await connect([
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.MessageContent,
  ]);
  if (client === undefined) {
    readsMessages = false;
    logger.warn(
      "Discord refused the Message Content intent: listening parties cannot see shared files and links. " +
        "Enable it under Bot → Privileged Gateway Intents in the developer portal",
    );
    client = await connect([GatewayIntentBits.Guilds]);
    if (client === undefined) throw new Error("Discord refused the connection's intents");
  }
  const connected = client;
  return {
    client: connected,
    readsMessages,
    async post(channelId, answer) {
      const channel = await connected.channels.fetch(channelId).catch(() => null);
      if (channel?.isSendable()) await channel.send(withFiles(answer));
      else logger.warn("Cannot post in a Discord channel", { channelId });
    },
    async stop() {
      stopping = true;
      await Promise.allSettled([...inflight]);
      await connected.destroy();
    },
  };
}

/** The message for an answer, with its files (a party's playlist) attached. */
function withFiles(answer: Answer): DiscordMessage & { files?: { attachment: Buffer; name: string }[] } {
  const message = renderDiscord(answer);
  return answer.kind === "party_summary"
    ? {
      ...message,
      files: answer.files.map((f) => ({ attachment: Buffer.from(f.content, "utf8"), name: f.name })),
    }
    : message;
}
