/**
 * A bounded work queue: at most `concurrency` jobs run at once, at most `capacity` wait behind them,
 * and a waiting job hears its place in line whenever it changes (so a chat answer can say "you are
 * #2 in line"). Closing it refuses new work and lets what was accepted finish.
 * @module
 */

/** Thrown by {@linkcode WorkQueue.run} when the line is full or the queue is closed. */
export class QueueRefused extends Error {
  /** `full`: too many waiting; `closed`: shutting down. */
  readonly reason: "full" | "closed";
  constructor(reason: "full" | "closed") {
    super(reason === "full" ? "The work queue is full" : "The work queue is closed");
    this.name = "QueueRefused";
    this.reason = reason;
  }
}

interface Waiting {
  start: () => void;
  onPosition: ((position: number) => void) | undefined;
}

/**
 * Runs async jobs with bounded concurrency and a bounded line.
 *
 * @example
 * ```ts
 * import { WorkQueue } from "./work_queue.ts";
 * const queue = new WorkQueue({ concurrency: 1, capacity: 5 });
 * const answer = await queue.run(async () => 42);
 * console.assert(answer === 42);
 * ```
 */
export class WorkQueue {
  readonly #concurrency: number;
  readonly #capacity: number;
  readonly #waiting: Waiting[] = [];
  #running = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  /**
   * @param opts `concurrency`: jobs at once (>= 1); `capacity`: jobs that may wait (>= 0).
   */
  constructor(opts: { concurrency: number; capacity: number }) {
    if (!(opts.concurrency >= 1)) throw new RangeError("concurrency must be at least 1");
    if (!(opts.capacity >= 0)) throw new RangeError("capacity must be at least 0");
    this.#concurrency = opts.concurrency;
    this.#capacity = opts.capacity;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Whether a job submitted now would be refused: every slot busy and the line full. */
  get full(): boolean {
    return this.#running >= this.#concurrency && this.#waiting.length >= this.#capacity;
  }

  /**
   * Where a new job would wait: 0 when it would start at once, otherwise its place in line (1 = next).
   *
   * @returns The position a job submitted now would get.
   */
  nextPosition(): number {
    return this.#running < this.#concurrency ? 0 : this.#waiting.length + 1;
  }

  /**
   * Runs `job` now or after the jobs ahead of it.
   *
   * @param job The work.
   * @param onPosition Hears the job's place in line (1 = next) each time it changes while it waits.
   * @returns What `job` returns.
   * @throws {QueueRefused} When the line is full or the queue is closed; the job is not run.
   */
  async run<T>(job: () => Promise<T>, onPosition?: (position: number) => void): Promise<T> {
    if (this.#closed) throw new QueueRefused("closed");
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#capacity) throw new QueueRefused("full");
      await new Promise<void>((start) => {
        this.#waiting.push({ start, onPosition });
        onPosition?.(this.#waiting.length);
      });
    }
    this.#running++;
    try {
      return await job();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  /**
   * Refuses new jobs and resolves when every accepted job (running or waiting) has finished.
   *
   * @returns When the queue is idle.
   */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #next(): void {
    const next = this.#waiting.shift();
    if (next) {
      next.start();
      this.#waiting.forEach((w, i) => w.onPosition?.(i + 1));
    } else if (this.#running === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
