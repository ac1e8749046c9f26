/**
 * The clean stop shared by the long-running processes (`deno task bot`, `deno task worker`).
 * @module
 */

/** A started process part that can finish its work and stop. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** What {@linkcode exitOnSignals} gives its process. */
export interface SignalExit {
  /** Whether a stop was asked for (by a signal, or by {@linkcode SignalExit.shutdown}). */
  readonly requested: boolean;
  /**
   * Aborts when a stop is asked for: a start that can wait forever (for a queue that is down) gives up
   * on it, and the process exits 0 with nothing started.
   */
  readonly signal: AbortSignal;
  /** Hands over what was started: a signal that came during the (slow) start stops it now. */
  started(running: Stoppable): Promise<void>;
  /** Stops what was started and exits 0 (once, however often it is called). */
  shutdown(): Promise<void>;
}

/**
 * Listens for SIGINT and SIGTERM from now on, before the slow warm start, so that a signal at any
 * time stops the process cleanly: running work finishes, then exit code 0.
 *
 * @returns The process's {@linkcode SignalExit}.
 */
export function exitOnSignals(): SignalExit {
  let running: Stoppable | undefined;
  let requested = false;
  const stop = new AbortController();
  const shutdown = async () => {
    // Ctrl-C reaches the process twice (from the terminal and forwarded by node_modules/.bin/deno).
    if (requested) return;
    requested = true;
    stop.abort(new Error("Stopped before the start was complete"));
    if (running === undefined) return; // stopped by started() as soon as it is up
    await running.stop();
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void shutdown());
  }
  return {
    get requested() {
      return requested;
    },
    signal: stop.signal,
    shutdown,
    async started(r) {
      running = r;
      if (requested) {
        requested = false;
        await shutdown();
      }
    },
  };
}
