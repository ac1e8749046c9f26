/**
 * The Discord adapter: the one module that talks to discord.js's client. It turns interactions into
 * handler requests and answers into messages: slash commands, the message context-menu command,
 * "More like" buttons and genre autocomplete. Cheap refusals are private replies at once; real work
 * is deferred first (Discord's 3 s rule) and always ends in an edited answer, never a spinner.
 * @module
 */
import {
  type Attachment,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  Events,
  GatewayIntentBits,
  type Interaction,
  type InteractionReplyOptions,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  PermissionFlagsBits,
  type RepliableInteraction,
} from "discord.js";
import type { DiscordConfig } from "../../core/mod.ts";
import { type Answer, notice } from "../answer.ts";
import type { BotServices, ClipRef, Requester } from "../context.ts";
import { runHelp } from "../handlers/help.ts";
import { runMoreLike } from "../handlers/more_like.ts";
import { checkSimilar, runSimilar, type SimilarRequest } from "../handlers/similar.ts";
import { FIND_SIMILAR } from "./commands.ts";
import { MORE_LIKE_PREFIX, renderDiscord } from "./render.ts";

/** A running Discord bot. */
export interface DiscordBot {
  readonly client: Client;
  /** Stops taking interactions, lets running ones answer, then disconnects. */
  stop(): Promise<void>;
}

/** Interaction tokens last 15 minutes; after 14, a long reindex posts its summary in the channel. */
const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

const AUDIO_NAME = /\.(mp3|ogg|oga|opus|wav|flac|m4a|aac|wma|aif|aiff|webm|mp4|mkv|mov|weba)$/i;

/**
 * Logs in and starts answering interactions.
 *
 * @param services The bot's services.
 * @param config Discord's settings (token, REST base, CDN hosts).
 * @returns The running bot.
 */
export async function startDiscord(services: BotServices, config: DiscordConfig): Promise<DiscordBot> {
  const { logger } = services;
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: config.apiUrl } });
  const inflight = new Set<Promise<void>>();
  let stopping = false;

  client.on(Events.InteractionCreate, (interaction) => {
    const work = route(interaction).catch((err) => logger.error("Discord interaction failed", { err }));
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
  });
  client.on(Events.Error, (err) => logger.error("Discord client error", { err }));

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
      await replyPrivately(i, notice("error", "unavailable", "I'm restarting: try again in a moment"));
      return;
    }
    if (i.isChatInputCommand()) {
      if (i.commandName === "similar") return await similar(i, fromOptions(i));
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
    const audio = atts.find((a) => /^(audio|video)\//.test(a.contentType ?? "") || AUDIO_NAME.test(a.name));
    return { requester: requesterOf(i), clip: audio ? clipOf(audio) : undefined };
  }

  async function similar(i: RepliableInteraction, request: SimilarRequest): Promise<void> {
    const checked = checkSimilar(services, request);
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
    const run = services.reindex.start({ requester: requesterOf(i) }, show);
    if (!run.started) return await replyPrivately(i, run.answer);
    await i.reply(renderDiscord(run.answer));
    markReplied();
    const summary = await run.done;
    await show(summary);
    if (!fresh() && i.channel?.isSendable()) await i.channel.send(renderDiscord(summary));
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
      logger.error("Discord request failed", { err });
      answer = notice("error", "failed", "Something went wrong on my side (it has been logged): try again");
    }
    if (answer.kind === "notice" && answer.tone === "error") {
      // Errors are private: the public "thinking…" goes away and only the asker sees why.
      try {
        await i.deleteReply();
        await i.followUp({ ...renderDiscord(answer), flags: MessageFlags.Ephemeral });
        return;
      } catch (err) {
        logger.debug("Could not answer privately, editing the reply instead", { err });
      }
    }
    await edit(i, answer);
  }

  async function edit(i: RepliableInteraction, answer: Answer): Promise<void> {
    await i.editReply(renderDiscord(answer)).catch((err) => logger.warn("Discord edit failed", { err }));
  }

  async function replyPrivately(i: RepliableInteraction, answer: Answer): Promise<void> {
    const body: InteractionReplyOptions = { ...renderDiscord(answer), flags: MessageFlags.Ephemeral };
    await (i.deferred || i.replied ? i.followUp(body) : i.reply(body));
  }

  await client.login(config.token);
  return {
    client,
    async stop() {
      stopping = true;
      await Promise.allSettled([...inflight]);
      await client.destroy();
    },
  };
}
