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
import type { BotServices, SharedAdmission } from "./context.ts";
import { type ConsoleOptions, runConsole, writePartyFiles } from "./console/console.ts";
import { renderText } from "./console/render.ts";
import { endIdleParties } from "./handlers/party.ts";
import { type DiscordBot, startDiscord } from "./discord/adapter.ts";
import { type ReindexBoard, ReindexRunner } from "./handlers/reindex.ts";
import { RateLimiter } from "./rate_limit.ts";
import { type SlackBot, startSlack } from "./slack/adapter.ts";
import { WorkQueue } from "./work_queue.ts";
import type { JobClient } from "./queue/engine.ts";
import type { Metrics } from "./ops/metrics.ts";
import { type OpsServer, startOpsServer } from "./ops/server.ts";

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
  /**
   * The job queue's client, when `config.scale.queue` is set and the caller opened it (to build `app`
   * with the workers embedding a reindex's batches); otherwise the bot opens one itself.
   */
  jobs?: JobClient;
}

/** A running bot. */
export interface RunningBot {
  readonly app: App;
  readonly services: BotServices;
  readonly discord: DiscordBot | undefined;
  readonly slack: SlackBot | undefined;
  /** Resolves when the console's input ends (never, with a chat platform). */
  readonly finished: Promise<void>;
  /** `/healthz` and `/metrics`, when `SOUNDALIKE_OPS_PORT` is set. */
  readonly ops: OpsServer | undefined;
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
  // With a job queue this is a chat process: it checks, downloads, queues and renders; the
  // workers (`deno task worker`) decode, embed and search, and embed a reindex's batches.
  const queued = config.scale.queue === undefined ? undefined : await openQueued(options);
  const app = queued?.app ?? options.app ?? createApp(config, logger);
  const stopping = new AbortController();
  const metrics: Metrics | undefined = config.scale.opsPort === undefined
    ? undefined
    : await createBotMetrics(
      app,
      queued?.client,
      processLabels(config, queued ? "chat" : "bot"),
    );
  let services: BotServices;
  try {
    services = {
      app: queued?.served ?? app,
      // With a queue, the line is shared (below): locally every accepted request waits on its job.
      queue: queued
        ? new WorkQueue({ concurrency: 100_000, capacity: 0 })
        : new WorkQueue({ concurrency: config.bot.concurrency, capacity: config.bot.queueSize }),
      limiter: new RateLimiter({ limit: config.bot.perUserPerMinute, windowMs: 60_000 }),
      reindex: new ReindexRunner(app, logger, {
        progressIntervalMs: options.progressIntervalMs ?? 2000,
        ...(queued ? { board: queued.board } : {}),
      }),
      parties: await app.parties(),
      logger,
      signal: stopping.signal,
      ...(queued ? { shared: queued.shared } : {}),
      ...(metrics ? { metrics } : {}),
    };
  } catch (err) {
    await queued?.close();
    throw err;
  }

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
  let ready = false;
  let indexVersion: number | undefined;
  let ops: OpsServer | undefined;
  const labels = processLabels(config, queued ? "chat" : "bot");
  try {
    if (metrics && config.scale.opsPort !== undefined) {
      ops = startOpsServer({
        port: config.scale.opsPort,
        metrics,
        labels,
        health: () => {
          // One process serves searches itself: ready only with an index. A chat process needs the queue.
          const problem = queued
            ? (queued.client.connected ? undefined : "the job queue does not answer")
            : (indexVersion === undefined ? "no index yet" : undefined);
          return {
            ready: ready && !stopping.signal.aborted && problem === undefined,
            detail: problem ? { problem } : indexVersion === undefined ? {} : { indexVersion },
          };
        },
      });
      logger.info(`Health and metrics on port ${ops.port} (/healthz, /metrics)`);
    }
    if (queued) {
      // A chat process opens no model and no index: only the database (catalog, parties).
      await app.db();
      // Clips staged by a chat process that died before its answer came (any chat process may sweep).
      const swept = await queued.sweep();
      if (swept > 0) logger.info(`Removed ${swept} clips left on shared storage by a stopped chat process`);
      logger.info(
        "Soundalike chat process ready: decoding, embedding and search go to the workers " +
          `(job queue ${queued.client.connected ? "connected" : "not reachable yet"})`,
      );
    } else {
      const warm = await app.warm();
      let served = indexVersion = warm.indexVersion;
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
            served = indexVersion = w.indexVersion;
          }
        }).catch((err) => logger.debug("Index check failed", { err }));
      }, options.watchIntervalMs ?? 5000);
    }
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
    ready = true;
  } catch (err) {
    clearInterval(watcher);
    clearInterval(partyTimer);
    await Promise.allSettled([discord?.stop(), slack?.stop(), ops?.close()]);
    await queued?.close();
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
    ops,
    stop() {
      return stopped ??= (async () => {
        stopping.abort();
        clearInterval(watcher);
        clearInterval(partyTimer);
        logger.info("Shutting down: finishing the requests in progress");
        await services.reindex.stop();
        await services.queue.close();
        await Promise.allSettled([discord?.stop(), slack?.stop()]);
        await queued?.close();
        await ops?.close();
        await app.close();
        logger.info("Stopped");
      })();
    },
  };
}

/** A chat process's queue: the client, the app over it, the shared limits. */
interface Queued {
  client: JobClient;
  /** The process's own app (database; a reindex whose batches the workers embed). */
  app: App | undefined;
  /** What the handlers call: searches as jobs. */
  served: BotServices["app"];
  shared: SharedAdmission;
  /** The running reindex's progress, shared with the other chat processes. */
  board: ReindexBoard;
  /** Removes clips a stopped chat process left on shared storage; how many. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

async function openQueued(options: StartBotOptions): Promise<Queued> {
  const { config, logger } = options;
  const queue = config.scale.queue!;
  // Loaded only with a queue: one process never loads BullMQ, ioredis or the limiter.
  const engine = await import("./queue/engine.ts");
  const { sharedAdmission } = await import("./queue/limits.ts");
  const { queuedApp, remoteEmbedFiles } = await import("./queue/remote_app.ts");
  const { redisReindexBoard } = await import("./queue/reindex_board.ts");
  const client = options.jobs ?? engine.openJobClient(queue, logger);
  const app = options.app ??
    createApp(config, logger, {
      embedFiles: remoteEmbedFiles(client),
      // Batches in flight: at least one worker's slots; set SOUNDALIKE_REINDEX_CONCURRENCY on the chat
      // process to keep more workers busy.
      reindexConcurrency: Math.max(config.reindexConcurrency, queue.workerConcurrency),
    });
  return {
    client,
    app: options.app === undefined ? app : undefined,
    served: queuedApp(app, client),
    shared: sharedAdmission({
      redis: client.redis,
      prefix: queue.prefix,
      perUser: config.bot.perUserPerMinute,
      capacity: config.bot.queueSize,
      waiting: () => client.waiting(),
    }),
    board: redisReindexBoard(client.redis, queue.prefix),
    sweep: async () => {
      const { sweepStagedClips } = await import("./queue/remote_app.ts");
      const { clipsDir } = await import("./queue/jobs.ts");
      return await sweepStagedClips(clipsDir(config), 2 * queue.jobTimeoutSeconds * 1000);
    },
    // A client the caller opened is the caller's to close.
    close: options.jobs ? () => Promise.resolve() : () => client.close(),
  };
}

/**
 * The labels of this process in logs, metrics and health: its role and, on Discord, its shards.
 *
 * @param config The configuration.
 * @param role `bot` (everything in one process), `chat` or `worker`.
 * @returns The labels.
 */
export function processLabels(config: Config, role: "bot" | "chat" | "worker"): Record<string, string> {
  const shards = config.discord?.shards;
  return {
    role,
    ...(shards && role !== "worker"
      ? { shards: shards.ids?.join(",") ?? (shards.count === "auto" ? "auto" : `0-${shards.count - 1}`) }
      : {}),
  };
}

async function createBotMetrics(
  app: App,
  client: JobClient | undefined,
  labels: Record<string, string>,
): Promise<Metrics> {
  const { createMetrics } = await import("./ops/metrics.ts");
  return createMetrics(labels, {
    ...(client ? { queueWaiting: () => client.waiting() } : {}),
    // every scrape: the index's metadata file, not the catalog's aggregate queries
    indexVersion: () => app.indexVersion(),
  });
}
