/**
 * `deno task worker`: a worker process. It takes decode, embed and search jobs (and a reindex's
 * embedding batches) from the job queue that chat processes (`deno task bot`) fill. Needs
 * `SOUNDALIKE_QUEUE_URL` and `DATABASE_URL`, and the data folder on storage the chat processes
 * share. SIGINT/SIGTERM finish the running jobs and stop (exit 0), also while it still waits for an
 * unreachable queue.
 * @module
 */
import { createConsoleLogger, isSoundalikeError, loadConfig, type Logger } from "../core/mod.ts";
import { exitOnSignals, type SignalExit } from "./_process.ts";
import { startWorker } from "./queue/worker.ts";

if (import.meta.main) {
  let logger: Logger = createConsoleLogger("info");
  let exit: SignalExit | undefined;
  try {
    const config = loadConfig({ defaultLogLevel: "info" });
    logger = createConsoleLogger(config.logLevel, {
      format: config.scale.logFormat,
      fields: { role: "worker" },
    });
    exit = exitOnSignals();
    await exit.started(await startWorker({ config, logger, signal: exit.signal }));
  } catch (err) {
    if (exit?.requested) {
      // SIGINT/SIGTERM while the queue was unreachable: no job was taken, nothing is lost
      logger.info("Stopped before taking any job");
      Deno.exit(0);
    }
    if (isSoundalikeError(err)) {
      console.error(err.message);
    } else {
      logger.error("The worker could not start", { err });
      console.error(`The worker could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    Deno.exit(1);
  }
}
