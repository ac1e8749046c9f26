/**
 * The job queue engine: the one module that imports BullMQ and ioredis. Chat processes submit jobs
 * and wait for their answers ({@linkcode openJobClient}); worker processes take jobs and run them
 * ({@linkcode startJobWorker}).
 *
 * Why BullMQ on Redis: a worker blocks on Redis for the next job and a chat process reads the
 * answer from Redis's event stream, so the hop costs a few milliseconds (pg-boss's workers find
 * jobs by polling PostgreSQL); a worker that dies loses its lock and its job is handed to another
 * (stalled-job recovery); failed runs are retried a set number of times; and the same Redis keeps
 * the per-user rate limits (rate-limiter-flexible), so one more service buys all three.
 * @module
 */
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { Logger, QueueConfig } from "../../core/mod.ts";
import { JobFailed, JobTimedOut, PermanentJobError, QueueUnavailable } from "./errors.ts";

export { JobFailed, JobTimedOut, PermanentJobError, QueueUnavailable };

/** The one queue every job goes through; the kind of work is the job's name. */
const QUEUE_NAME = "jobs";

/** What a chat process uses. */
export interface JobClient {
  /** Whether Redis answers now (a request submitted now would be queued). */
  readonly connected: boolean;
  /** The non-blocking Redis connection, for limiters kept on the same engine. */
  readonly redis: Redis;
  /**
   * Queues a job and waits for its answer.
   *
   * @param kind The job's kind (a handler name the workers know).
   * @param data Its payload, plain JSON.
   * @returns The worker's answer.
   * @throws {QueueUnavailable} Redis is down: nothing was queued.
   * @throws {JobFailed} Every run failed, or a run failed permanently.
   * @throws {JobTimedOut} No answer within the configured time.
   */
  submit(kind: string, data: unknown): Promise<unknown>;
  /** Jobs waiting for a worker (not counting those running). */
  waiting(): Promise<number>;
  /** Jobs by state (waiting, active, completed, failed, delayed…), for tests and operators. */
  counts(): Promise<Record<string, number>>;
  /** Closes the connections (jobs already queued stay queued). */
  close(): Promise<void>;
}

/** Where a finished job's time went (the worker's run, measured on its clock; the rest is the queue's). */
export interface JobTimings {
  kind: string;
  /** From submit to answer, on the chat process's clock. */
  totalMs: number;
  /** The worker's run of the job (the last run, when retried). */
  ranMs: number;
}

/** Options of {@linkcode openJobClient}. */
export interface JobClientOptions {
  /** Hears each answered job's timings (one more Redis read per job: benchmarks, not production). */
  onTimings?: (timings: JobTimings) => void;
}

/** How a worker's handler sees a job. */
export interface JobInfo {
  id: string;
  kind: string;
  data: unknown;
  /** 1 for the first run. */
  attempt: number;
}

/** A running worker. */
export interface JobWorker {
  /** Whether it is connected and taking jobs. */
  readonly running: boolean;
  /** Stops taking jobs and waits for the running ones. */
  close(): Promise<void>;
}

/** A connection that reconnects for ever, at most 2 s apart: a process outlives a Redis restart. */
function connect(url: string, blocking: boolean): Redis {
  const retryStrategy = (times: number) => Math.min(100 * times, 2000);
  return blocking
    // Blocking reads (a worker waiting for jobs, the event stream) must not give up on a command.
    ? new Redis(url, { retryStrategy, maxRetriesPerRequest: null })
    // Commands fail at once while disconnected (no offline buffer), and within 1 s when a connected
    // Redis stops answering (a partition, a stall): a chat answers "busy" before Discord's 3 s deadline.
    : new Redis(url, {
      retryStrategy,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 1000,
    });
}

/**
 * Connects a chat process to the queue.
 *
 * @param config The queue's settings.
 * @param logger Connection changes are logged.
 * @param options Timings of answered jobs, for benchmarks.
 * @returns The client; {@linkcode JobClient.connected} says when Redis answers.
 */
export function openJobClient(
  config: QueueConfig,
  logger: Logger,
  options: JobClientOptions = {},
): JobClient {
  const redis = connect(config.url, false);
  const events = connect(config.url, true);
  watchConnection(redis, logger, "chat");
  events.on("error", () => {}); // reported by the main connection's watcher
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: config.prefix });
  queue.on("error", (err) => logger.debug("Queue error", { err }));
  const queueEvents = new QueueEvents(QUEUE_NAME, { connection: events, prefix: config.prefix });
  // Every waiting request listens for its job's end: many at once is normal, not a leak.
  queue.setMaxListeners(0);
  queueEvents.setMaxListeners(0);
  queueEvents.on("error", (err) => logger.debug("Queue events error", { err }));
  const timeoutMs = config.jobTimeoutSeconds * 1000;
  return {
    get connected() {
      return redis.status === "ready";
    },
    redis,
    async submit(kind, data) {
      if (redis.status !== "ready") throw new QueueUnavailable();
      const submitted = performance.now();
      let job: Job;
      try {
        job = await queue.add(kind, data, {
          attempts: config.attempts,
          backoff: { type: "exponential", delay: 200 },
          // Answers are read from the event stream; finished jobs are kept a while for inspection.
          removeOnComplete: { age: 600, count: 10_000 },
          removeOnFail: { age: 24 * 3600, count: 10_000 },
        });
      } catch (err) {
        throw new QueueUnavailable({ cause: err });
      }
      try {
        const answer = await job.waitUntilFinished(queueEvents, timeoutMs);
        if (options.onTimings && job.id !== undefined) {
          const totalMs = performance.now() - submitted;
          const done = await Job.fromId(queue, job.id);
          if (done?.processedOn !== undefined && done.finishedOn !== undefined) {
            options.onTimings({ kind, totalMs, ranMs: done.finishedOn - done.processedOn });
          }
        }
        return answer;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (/timed out before finishing/i.test(message)) throw new JobTimedOut(config.jobTimeoutSeconds);
        throw new JobFailed(message);
      }
    },
    waiting: () => queue.getWaitingCount(),
    counts: () => queue.getJobCounts(),
    async close() {
      await Promise.allSettled([queueEvents.close(), queue.close()]);
      redis.disconnect();
      events.disconnect();
    },
  };
}

/**
 * Starts taking jobs.
 *
 * @param config The queue's settings (concurrency, lock, attempts).
 * @param logger Where job outcomes are logged.
 * @param handle Runs one job; throw {@linkcode PermanentJobError} for a failure a retry would repeat.
 * @param signal Gives up waiting for Redis (a stop asked for while the queue is unreachable): the
 *   connection is dropped and the signal's reason thrown; no job was taken.
 * @returns The running worker, once Redis answers.
 */
export async function startJobWorker(
  config: QueueConfig,
  logger: Logger,
  handle: (job: JobInfo) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<JobWorker> {
  const redis = connect(config.url, true);
  watchConnection(redis, logger, "worker");
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      // The process that queued a job waits for it jobTimeoutSeconds at most, then answers "busy"
      // and removes the staged clip: an older job is answered to nobody, so it is dropped, not run
      // (under overload, running expired jobs would make every new one expire too).
      if (Date.now() - job.timestamp > config.jobTimeoutSeconds * 1000) {
        logger.info("Dropped a job nobody waits for any more", { job: job.id, kind: job.name.slice(0, 40) });
        throw new UnrecoverableError("expired: nobody waits for this answer any more");
      }
      const info: JobInfo = {
        id: job.id ?? "?",
        kind: job.name,
        data: job.data,
        attempt: job.attemptsMade + 1,
      };
      try {
        return await handle(info);
      } catch (err) {
        if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
        throw err;
      }
    },
    {
      connection: redis,
      prefix: config.prefix,
      concurrency: config.workerConcurrency,
      // A killed worker stops renewing its lock; after lockSeconds another worker takes the job.
      lockDuration: config.lockSeconds * 1000,
      stalledInterval: config.lockSeconds * 1000,
      maxStalledCount: 2,
    },
  );
  worker.on("error", (err) => logger.debug("Worker error", { err }));
  worker.on("failed", (job, err) => {
    if (!job) return;
    const last = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError ||
      err.name === "UnrecoverableError";
    logger[last ? "warn" : "info"](last ? "Job given up" : "Job failed, will retry", {
      job: job.id,
      kind: job.name,
      attempt: job.attemptsMade,
      reason: err.message,
    });
  });
  worker.on(
    "stalled",
    (jobId) => logger.warn("A worker stopped answering: its job is retried", { job: jobId }),
  );
  await untilReady(worker, redis, signal);
  return {
    get running() {
      return worker.isRunning() && redis.status === "ready";
    },
    async close() {
      await worker.close();
      redis.disconnect();
    },
  };
}

/** Waits until the worker is connected, or the signal aborts: then closes it and throws the reason. */
async function untilReady(worker: Worker, redis: Redis, signal: AbortSignal | undefined): Promise<void> {
  const ready = worker.waitUntilReady();
  if (signal === undefined) return void await ready;
  ready.catch(() => {}); // after an abort nobody awaits it
  let onAbort = () => {};
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const outcome = await Promise.race([ready.then(() => "ready" as const), aborted]);
  signal.removeEventListener("abort", onAbort);
  if (outcome === "ready") return;
  redis.disconnect();
  await worker.close(true).catch(() => {});
  throw signal.reason;
}

function watchConnection(redis: Redis, logger: Logger, role: string): void {
  let down = false;
  redis.on("error", (err) => {
    if (!down) logger.warn("The job queue (Redis) is unreachable: retrying", { role, err: err.message });
    down = true;
  });
  redis.on("ready", () => {
    if (down) logger.info("The job queue (Redis) answers again", { role });
    down = false;
  });
}
