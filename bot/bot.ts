/**
 * The warm bot process: opens the models, the current index and the database once, then serves
 * Discord and/or Slack (whichever has credentials) or, with neither, the console. It watches the
 * index's `CURRENT` pointer so a reindex run elsewhere is served without a restart, and shuts down
 * in order: stop taking work, finish what runs, close the database.
 * @module
 */
import { type App, createApp } from "../core/app.ts";
import { type Config, ErrorCode, isSoundalikeError, type Logger } from "../core/mod.ts";
import { join } from "node:path";
import type { Answer } from "./answer.ts";
import type { BotServices } from "./context.ts";
import { type ConsoleOptions, runConsole, writePartyFiles } from "./console/console.ts";
import { renderText } from "./console/render.ts";
import { endIdleParties } from "./handlers/party.ts";
import { type DiscordBot, startDiscord } from "./discord/adapter.ts";
import { ReindexRunner } from "./handlers/reindex.ts";
import { RateLimiter } from "./rate_limit.ts";
import { type SlackBot, startSlack } from "./slack/adapter.ts";
import { WorkQueue } from "./work_queue.ts";

/** Options of {@linkcode startBot}. */
export interface StartBotOptions {
  config: Config;
  logger: Logger;
  /** The console's input and output, used when no platform is configured. */
  console?: Omit<ConsoleOptions, "cwd">;
  /** How often the index pointer is checked, in milliseconds. @default 5000 */
  watchIntervalMs?: number;
  /** Least time between two reindex progress edits. @default 2000 */
  progressIntervalMs?: number;
  /** How often idle parties are looked for, in milliseconds. @default 60000 */
  partyCheckIntervalMs?: number;
  /** An app to use instead of opening one from `config` (benchmarks). */
  app?: App;
}

/** A running bot. */
export interface RunningBot {
  readonly app: App;
  readonly services: BotServices;
  readonly discord: DiscordBot | undefined;
  readonly slack: SlackBot | undefined;
  /** Resolves when the console's input ends (never, with a chat platform). */
  readonly finished: Promise<void>;
  /** Stops taking work, finishes what runs, disconnects, closes the database. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts the bot.
 *
 * @param options Configuration, logger and console streams.
 * @returns The running bot.
 */
export async function startBot(options: StartBotOptions): Promise<RunningBot> {
  const { config, logger } = options;
  const app = options.app ?? createApp(config, logger);
  const stopping = new AbortController();
  const services: BotServices = {
    app,
    queue: new WorkQueue({ concurrency: config.bot.concurrency, capacity: config.bot.queueSize }),
    limiter: new RateLimiter({ limit: config.bot.perUserPerMinute, windowMs: 60_000 }),
    reindex: new ReindexRunner(app, logger, { progressIntervalMs: options.progressIntervalMs ?? 2000 }),
    parties: await app.parties(),
    logger,
    signal: stopping.signal,
  };

  let discord: DiscordBot | undefined;
  let slack: SlackBot | undefined;
  let watcher: ReturnType<typeof setInterval> | undefined;
  let partyTimer: ReturnType<typeof setInterval> | undefined;
  const partyDir = join(config.dataDir, "parties");
  /** Posts in a party's channel on its platform (an idle party's summary). */
  const postTo = async (platform: string, channelId: string, answer: Answer) => {
    if (platform === "discord" && discord) return await discord.post(channelId, answer);
    if (platform === "slack" && slack) return await slack.post(channelId, answer);
    if (platform === "console" && options.console) {
      options.console.write(renderText(answer) + "\n");
      if (answer.kind === "party_summary") {
        for (const path of await writePartyFiles(partyDir, answer)) {
          options.console.write(`Playlist written: ${path}\n`);
        }
      }
      return;
    }
    logger.warn("A party ended in a channel this bot does not serve now", { platform, channelId });
  };
  try {
    const warm = await app.warm();
    let served = warm.indexVersion;
    if (warm.indexVersion === undefined) {
      logger.warn(`Soundalike is up without a search index: ${warm.indexProblem}`);
    } else {
      logger.info(
        `Soundalike ready: ${warm.indexedTracks} tracks, index v${warm.indexVersion}, models on ${warm.provider}`,
      );
    }
    // A reindex in another process (PostgreSQL) swaps CURRENT: load the new version before a query needs it.
    watcher = setInterval(() => {
      app.warm().then((w) => {
        if (w.indexVersion !== undefined && w.indexVersion !== served) {
          logger.info(`Now serving index v${w.indexVersion} (${w.indexedTracks} tracks)`);
          served = w.indexVersion;
        }
      }).catch((err) => logger.debug("Index check failed", { err }));
    }, options.watchIntervalMs ?? 5000);
    if (config.discord) discord = await startDiscord(services, config.discord);
    if (config.slack) slack = await startSlack(services, config.slack);
    partyTimer = setInterval(() => {
      const platforms = [discord && "discord", slack && "slack", !discord && !slack && "console"]
        .filter((p): p is string => typeof p === "string");
      endIdleParties(services, new Date(), platforms).then(async (ended) => {
        for (const { party, summary } of ended) {
          logger.info("A quiet party ended", {
            party: party.name,
            platform: party.platform,
            channel: party.channelId,
          });
          // Every summary is posted: one channel that refuses (archived, no permission) stops no other.
          await postTo(party.platform, party.channelId, summary).catch((err) =>
            logger.warn("Could not post a quiet party's summary", { err, channel: party.channelId })
          );
        }
      }).catch((err) =>
        // An outage of the database is logged once where it is noticed, not every minute here.
        isSoundalikeError(err, ErrorCode.CatalogUnreachable)
          ? logger.debug("Idle party check skipped: the catalog database does not answer")
          : logger.warn("Idle party check failed", { err })
      );
    }, options.partyCheckIntervalMs ?? 60_000);
  } catch (err) {
    clearInterval(watcher);
    clearInterval(partyTimer);
    await Promise.allSettled([discord?.stop(), slack?.stop()]);
    await app.close();
    throw err;
  }

  let finished: Promise<void> = new Promise(() => {});
  if (!discord && !slack && options.console) {
    logger.info("No DISCORD_TOKEN or SLACK_BOT_TOKEN: console mode (type /help)");
    finished = runConsole(services, { ...options.console, cwd: config.cwd, partyDir });
  } else {
    logger.info(`Serving ${[discord && "Discord", slack && "Slack"].filter(Boolean).join(" and ")}`);
  }

  let stopped: Promise<void> | undefined;
  return {
    app,
    services,
    discord,
    slack,
    finished,
    stop() {
      return stopped ??= (async () => {
        stopping.abort();
        clearInterval(watcher);
        clearInterval(partyTimer);
        logger.info("Shutting down: finishing the requests in progress");
        await services.reindex.stop();
        await services.queue.close();
        await Promise.allSettled([discord?.stop(), slack?.stop()]);
        await app.close();
        logger.info("Stopped");
      })();
    },
  };
}
