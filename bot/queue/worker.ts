/**
 * The worker role (`deno task worker`): takes jobs from the queue and runs them on the warm app:
 * decode, embed and search for chat processes, embedding batches for a reindex. It reads the index
 * version `CURRENT` names on shared storage before each search, so a new version is served without
 * a restart. A malformed or oversized job is refused with one log line; a user's error (a silent
 * clip) fails the job at once with its sentence; anything else is retried by the engine.
 * @module
 */
import { join } from "node:path";
import { type App, createApp } from "../../core/app.ts";
import { type Config, ErrorCode, type Logger, SoundalikeError } from "../../core/mod.ts";
import { createMetrics, type Metrics } from "../ops/metrics.ts";
import { type OpsServer, startOpsServer } from "../ops/server.ts";
import { type JobInfo, type JobWorker, PermanentJobError, startJobWorker } from "./engine.ts";
import { clipsDir, fromWire, MalformedJob, parseJob, toWire, userErrorReason } from "./jobs.ts";

/** What a worker runs jobs with. */
export type WorkerApp = Pick<
  App,
  "similar" | "similarToTrack" | "similarToVector" | "analyze" | "embedFiles" | "config"
>;

/**
 * Runs one job on the app; answers go on the wire as {@linkcode toWire} makes them.
 *
 * @param app The warm application.
 * @param logger Refusals and failures are logged.
 * @param metrics Counts jobs and their time, when given.
 * @returns The handler the engine calls.
 */
export function jobHandler(
  app: WorkerApp,
  logger: Logger,
  metrics?: Metrics,
): (job: JobInfo) => Promise<unknown> {
  const clips = clipsDir(app.config);
  return async (job) => {
    const started = performance.now();
    let outcome = "done";
    try {
      const parsed = parseJob(job.kind, job.data);
      logger.debug("Job started", { job: job.id, kind: job.kind, attempt: job.attempt });
      switch (parsed.kind) {
        case "similar":
          return toWire(await app.similar(join(clips, parsed.payload.clip), defined(parsed.payload.options)));
        case "analyze":
          return toWire(await app.analyze(join(clips, parsed.payload.clip)));
        case "similar_to_track":
          return toWire(await app.similarToTrack(parsed.payload.trackId, defined(parsed.payload.options)));
        case "similar_to_vector": {
          const { exclude, ...options } = parsed.payload.options;
          const vector = fromWire(parsed.payload.vector);
          if (!(vector instanceof Float32Array)) throw new MalformedJob("The vector is not float32 values");
          return toWire(
            await app.similarToVector(vector, {
              ...defined(options),
              ...(exclude ? { exclude: new Set(exclude) } : {}),
            }),
          );
        }
        case "embed_files": {
          const results = await app.embedFiles(parsed.payload.paths);
          return toWire(results.map((r) => r instanceof Error ? { error: r.message } : r));
        }
      }
    } catch (err) {
      if (err instanceof MalformedJob) {
        outcome = "refused";
        logger.warn(`Refused a malformed job: ${err.message}`, { job: job.id, kind: job.kind.slice(0, 40) });
        throw new PermanentJobError(err.message);
      }
      const reason = userErrorReason(err);
      if (reason !== undefined) {
        outcome = "user_error";
        throw new PermanentJobError(reason);
      }
      outcome = "failed";
      logger.error("Job failed", { job: job.id, kind: job.kind, attempt: job.attempt, err });
      throw err;
    } finally {
      metrics?.jobDone(job.kind, outcome, (performance.now() - started) / 1000);
    }
  };
}

/** The object without its `undefined` fields (JSON never has them; the types say they may). */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** Options of {@linkcode startWorker}. */
export interface StartWorkerOptions {
  config: Config;
  logger: Logger;
  /** The app to run jobs on. @default one opened from `config` */
  app?: App;
  /** How often the served index version is checked, in milliseconds. @default 5000 */
  watchIntervalMs?: number;
  /**
   * Gives up the start while it waits for an unreachable queue (a stop asked for then): everything
   * opened is closed and the signal's reason thrown.
   */
  signal?: AbortSignal;
}

/** A running worker process. */
export interface RunningWorker {
  readonly app: App;
  /** `/healthz` and `/metrics`, when `SOUNDALIKE_OPS_PORT` is set. */
  readonly ops: OpsServer | undefined;
  /** Stops taking jobs, finishes the running ones, closes the app. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a worker: opens the models, the current index and the database, then takes jobs.
 *
 * @param options The configuration (its queue must be set), the logger, an app.
 * @returns The running worker.
 * @throws {SoundalikeError} `bad_config` when no queue is configured.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { config, logger } = options;
  const queue = config.scale.queue;
  if (queue === undefined) {
    throw new SoundalikeError(
      ErrorCode.BadConfig,
      "A worker needs SOUNDALIKE_QUEUE_URL: the Redis server the chat processes queue work on (and DATABASE_URL)",
    );
  }
  const app = options.app ?? createApp(config, logger);
  let served: number | undefined;
  let ready = false;
  let stopping = false;
  // The version CURRENT names now (what the next search reads), loaded if it changed.
  const current = async () => (await app.warm()).indexVersion;
  const metrics = createMetrics({ role: "worker" }, { indexVersion: current });
  let ops: OpsServer | undefined;
  let worker: JobWorker | undefined;
  let watcher: ReturnType<typeof setInterval> | undefined;
  try {
    if (config.scale.opsPort !== undefined) {
      ops = startOpsServer({
        port: config.scale.opsPort,
        metrics,
        labels: { role: "worker" },
        health: async () => {
          const version = ready ? await current() : undefined;
          return {
            ready: ready && !stopping && (worker?.running ?? false) && version !== undefined,
            detail: version === undefined
              ? { problem: ready ? "no index yet" : "starting" }
              : { indexVersion: version },
          };
        },
      });
      logger.info(`Health and metrics on port ${ops.port} (/healthz, /metrics)`);
    }
    const warm = await app.warm();
    served = warm.indexVersion;
    if (served === undefined) logger.warn(`Worker up without a search index: ${warm.indexProblem}`);
    else {logger.info(
        `Worker ready: ${warm.indexedTracks} tracks, index v${served}, models on ${warm.provider}`,
      );}
    // Every search reads CURRENT; this only says so in the log (and /healthz) when it changes.
    watcher = setInterval(() => {
      app.warm().then((w) => {
        if (w.indexVersion !== undefined && w.indexVersion !== served) {
          logger.info(`Now serving index v${w.indexVersion} (${w.indexedTracks} tracks)`);
          served = w.indexVersion;
        }
      }).catch((err) => logger.debug("Index check failed", { err }));
    }, options.watchIntervalMs ?? 5000);
    worker = await startJobWorker(queue, logger, jobHandler(app, logger, metrics), options.signal);
    ready = true;
    logger.info("Taking jobs from the queue", { concurrency: queue.workerConcurrency });
  } catch (err) {
    clearInterval(watcher);
    await ops?.close();
    if (!options.app) await app.close();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    app,
    ops,
    stop() {
      return stopped ??= (async () => {
        stopping = true;
        clearInterval(watcher);
        await worker?.close();
        await ops?.close();
        if (!options.app) await app.close();
        logger.info("Worker stopped");
      })();
    },
  };
}
