/**
 * Turns anything a handler catches into a notice: user errors keep their own sentence, a full
 * queue says so, and anything unexpected is logged with its context and answered politely.
 * @module
 */
import { isSoundalikeError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { notice, type NoticeAnswer } from "../answer.ts";
import { QueueRefused } from "../work_queue.ts";
import { JobTimedOut, QueueUnavailable } from "../queue/errors.ts";

/** The answer while the bot is shutting down. */
export function restartingNotice(): NoticeAnswer {
  return notice("error", "unavailable", "I'm restarting: try again in a moment");
}

/** The answer when the work queue has no room. */
export function busyNotice(): NoticeAnswer {
  return notice("error", "busy", "I'm busy with a lot of clips right now: try again in a minute");
}

/** The answer when the job queue does not answer (or no worker did in time): nothing was queued. */
export function unavailableNotice(): NoticeAnswer {
  return notice("error", "busy", "I'm busy right now: try again shortly");
}

/**
 * The notice for an error.
 *
 * @param err What was caught.
 * @param logger Where unexpected errors are logged.
 * @param context What was being done, for the log.
 * @returns The notice to show.
 */
export function errorNotice(err: unknown, logger: Logger, context: Record<string, unknown>): NoticeAnswer {
  if (isSoundalikeError(err)) {
    logger.debug("User error", { ...context, code: err.code, message: err.message });
    return notice("error", err.code, err.message);
  }
  if (err instanceof QueueRefused) {
    return err.reason === "full" ? busyNotice() : restartingNotice();
  }
  if (err instanceof QueueUnavailable || err instanceof JobTimedOut) {
    logger.warn("Refused for now: the job queue is unreachable or slow", { ...context, err: err.message });
    return unavailableNotice();
  }
  logger.error("Request failed", { ...context, err });
  return notice(
    "error",
    "failed",
    "Something went wrong on my side (it has been logged): try again, or with another clip",
  );
}
