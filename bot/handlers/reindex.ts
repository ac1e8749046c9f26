/**
 * `/reindex` for admins: re-reads the configured catalog (or a folder given in the console) and
 * rebuilds the indexes in the background, one run at a time. Progress is reported as answers (at
 * most one every `progressIntervalMs`, plus each stage change) so an adapter can keep editing one
 * message; queries go on being answered from the old index until the new one is swapped in.
 * @module
 */
import type { App } from "../../core/app.ts";
import { isSoundalikeError, type Logger, type ProgressReporter } from "../../core/mod.ts";
import { notice, type ReindexProgressAnswer, type ReindexSummaryAnswer } from "../answer.ts";
import type { OnUpdate, ReindexControl, ReindexRequest } from "../context.ts";
import { restartingNotice } from "./_errors.ts";

/**
 * Where chat processes that share a job queue post the running reindex's progress, so that
 * `/reindex` reaching another shard says how far the running one is instead of starting.
 */
export interface ReindexBoard {
  /** Takes the board for a new run; `undefined` when taken, else the other run's progress. */
  claim(progress: ReindexProgressAnswer): Promise<ReindexProgressAnswer | undefined>;
  /** Posts this run's progress (and keeps the board while it runs). */
  update(progress: ReindexProgressAnswer): Promise<void>;
  /** Frees the board when this run ends. */
  release(): Promise<void>;
}

/** Options of {@linkcode ReindexRunner}. */
export interface ReindexRunnerOptions {
  /** Least time between two progress answers. @default 2000 */
  progressIntervalMs?: number;
  /** The board shared with other chat processes (a job queue's Redis); none in one process. */
  board?: ReindexBoard;
  /** How often a running reindex renews its place on the board, in milliseconds. @default 10000 */
  boardRenewMs?: number;
  /**
   * How long `/reindex` waits for the board before starting without it (the queue's Redis not
   * answering; the database lock still keeps runs apart), in milliseconds. @default 2000
   */
  boardWaitMs?: number;
}

/** The sentence for a reindex that is running here, or through another chat process. */
function alreadyRunning(c: ReindexProgressAnswer, elsewhere: boolean): string {
  const how = `${Math.floor(c.percent)} %, ${c.stage}, started by ${c.startedBy}`;
  return elsewhere
    ? `A reindex is already running (${how} through another bot process): its summary is posted where it was started`
    : `A reindex is already running (${how}): I'll post its summary when it ends`;
}

/** Which share of the whole run each stage of core's reindex stands for (percent from, to). */
const STAGES: Record<string, [number, number]> = {
  "reading the catalog": [0, 2],
  "reading tags": [2, 10],
  hashing: [10, 15],
  "reading the cache": [15, 18],
  embedding: [18, 90],
  // Building the new index version (core/index/vector_index.ts names these stages).
  publishing: [90, 91],
  "writing window rows": [90, 92],
  "training the window index": [92, 94],
  "adding to the window index": [94, 97],
  "training the clip index": [97, 98],
  "adding to the clip index": [98, 99],
  "writing the index files": [99, 100],
};

/** Runs one reindex at a time and knows how far it is. */
export class ReindexRunner implements ReindexControl {
  readonly #app: Pick<App, "update" | "config">;
  readonly #logger: Logger;
  readonly #interval: number;
  readonly #board: ReindexBoard | undefined;
  readonly #renewMs: number;
  readonly #boardWaitMs: number;
  #current: ReindexProgressAnswer | undefined;
  #running: Promise<unknown> | undefined;
  #abort = new AbortController();

  /**
   * @param app The application whose catalog is rebuilt.
   * @param logger Where failures are logged.
   * @param options Progress pacing.
   */
  constructor(app: Pick<App, "update" | "config">, logger: Logger, options: ReindexRunnerOptions = {}) {
    this.#app = app;
    this.#logger = logger;
    this.#interval = options.progressIntervalMs ?? 2000;
    this.#board = options.board;
    this.#renewMs = options.boardRenewMs ?? 10_000;
    this.#boardWaitMs = options.boardWaitMs ?? 2000;
  }

  /** The running reindex's progress, or `undefined` when none runs. */
  get current(): ReindexProgressAnswer | undefined {
    return this.#current;
  }

  /** {@inheritDoc ReindexControl.start} */
  async start(request: ReindexRequest, onUpdate: OnUpdate): ReturnType<ReindexControl["start"]> {
    if (!request.requester.isAdmin) {
      return {
        started: false,
        answer: notice(
          "error",
          "forbidden",
          request.requester.platform === "discord"
            ? "Only members who can manage this server can rebuild the catalog"
            : "Only the bot's admins can rebuild the catalog: ask one to add your user id",
        ),
      };
    }
    if (this.#current) {
      const c = this.#current;
      return {
        started: false,
        answer: notice("wait", "busy", alreadyRunning(c, false)),
      };
    }
    if (this.#abort.signal.aborted) {
      return {
        started: false,
        answer: restartingNotice(),
      };
    }
    const dir = request.dir ?? this.#app.config.catalogDir;
    const first = this.#progress(request.requester.name, dir ? "reading the catalog" : "hashing", 0, 0);
    this.#current = first; // a second /reindex here meanwhile hears "already running"
    // Another chat process's run: say how far it is before anything is shown as started (the
    // database lock would refuse this one anyway).
    const other = await this.#claimBoard(first);
    if (other) {
      this.#current = undefined;
      return { started: false, answer: notice("wait", "busy", alreadyRunning(other, true)) };
    }
    if (this.#abort.signal.aborted) { // shutting down while the board was asked
      this.#current = undefined;
      await this.#board?.release().catch(() => {});
      return { started: false, answer: restartingNotice() };
    }
    const done = this.#run(request, dir, onUpdate);
    this.#running = done;
    return { started: true, answer: first, done };
  }

  /** The other run's progress when another chat process holds the board; `undefined` when we took it. */
  async #claimBoard(first: ReindexProgressAnswer): Promise<ReindexProgressAnswer | undefined> {
    if (this.#board === undefined) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, this.#boardWaitMs, undefined);
    });
    try {
      return await Promise.race([this.#board.claim(first), late]);
    } catch (err) {
      this.#logger.debug("Reindex board unavailable", { err });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops a running reindex at the next batch (shutdown) and waits for it to end. The old index
   * keeps serving: a run that does not finish publishes nothing.
   */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => {});
  }

  async #run(
    request: ReindexRequest,
    dir: string | undefined,
    onUpdate: OnUpdate,
  ): Promise<ReindexSummaryAnswer> {
    const started = performance.now();
    const who = request.requester.name;
    const board = this.#board;
    const renew = board
      ? setInterval(() => {
        if (this.#current) board.update(this.#current).catch(() => {});
      }, this.#renewMs)
      : undefined;
    let last = 0;
    const emit = (answer: ReindexProgressAnswer, force: boolean) => {
      this.#current = answer;
      const now = performance.now();
      if (!force && now - last < this.#interval) return;
      last = now;
      board?.update(answer).catch(() => {});
      Promise.resolve(onUpdate(answer)).catch((err) => this.#logger.debug("Progress not shown", { err }));
    };
    let stage = "hashing";
    let total = 0;
    let stageStart = performance.now();
    const progress: ProgressReporter = {
      start: (t, label) => {
        stage = label;
        total = t;
        stageStart = performance.now();
        emit(this.#progress(who, stage, 0, total), true);
      },
      update: (done) => {
        const elapsed = (performance.now() - stageStart) / 1000;
        const eta = done > 0 && elapsed > 0.5 ? ((total - done) * elapsed) / done : undefined;
        emit(this.#progress(who, stage, done, total, eta), false);
      },
      // Core publishes right after the last embedding batch: say so, as nothing else reports it.
      stop: () => {
        if (stage === "embedding") emit(this.#progress(who, "publishing", 0, 0), true);
      },
    };
    try {
      if (dir) emit(this.#progress(who, "reading the catalog", 0, 0), true);
      const result = await this.#app.update(dir, {
        ...(dir && this.#app.config.catalogIsFma && request.dir === undefined ? { fma: true } : {}),
        progress,
        signal: this.#abort.signal,
      });
      const { summary, reindex } = result;
      return {
        kind: "reindex_summary",
        ok: true,
        error: undefined,
        indexedTracks: summary.stored,
        embedded: reindex.embedded,
        cached: reindex.cached,
        removed: summary.removed,
        duplicates: summary.duplicates.map((d) => ({ item: d.item, reason: d.reason })),
        skipped: summary.skipped.map((s) => ({ item: s.item, reason: s.reason })),
        indexVersion: summary.indexVersion,
        seconds: (performance.now() - started) / 1000,
      };
    } catch (err) {
      const aborted = this.#abort.signal.aborted;
      if (!isSoundalikeError(err) && !aborted) this.#logger.error("Reindex failed", { err, by: who });
      return this.#failed(
        aborted
          ? "The reindex was stopped because the bot is shutting down: the previous index is still served"
          : isSoundalikeError(err)
          ? err.message
          : "The reindex failed on my side (it has been logged): the previous index is still served",
        started,
      );
    } finally {
      clearInterval(renew);
      await board?.release().catch(() => {});
      this.#current = undefined;
      this.#running = undefined;
    }
  }

  #failed(error: string, started: number): ReindexSummaryAnswer {
    return {
      kind: "reindex_summary",
      ok: false,
      error,
      indexedTracks: 0,
      embedded: 0,
      cached: 0,
      removed: 0,
      duplicates: [],
      skipped: [],
      indexVersion: undefined,
      seconds: (performance.now() - started) / 1000,
    };
  }

  #progress(
    startedBy: string,
    stage: string,
    done: number,
    total: number,
    etaSeconds?: number,
  ): ReindexProgressAnswer {
    const [from, to] = STAGES[stage] ?? [0, 100];
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    return {
      kind: "reindex_progress",
      stage,
      done,
      total,
      percent: from + (to - from) * fraction,
      etaSeconds,
      startedBy,
    };
  }
}
