/**
 * The job queue's errors, apart from the engine so that handlers can recognise them without
 * loading BullMQ (a single-process bot never does).
 * @module
 */

/** Thrown by {@linkcode JobClient.submit} when Redis does not answer now: nothing was queued. */
export class QueueUnavailable extends Error {
  constructor(options?: { cause?: unknown }) {
    super("The job queue is unreachable", options);
    this.name = "QueueUnavailable";
  }
}

/** Thrown by {@linkcode JobClient.submit} when a job was given up; `reason` is the worker's last error. */
export class JobFailed extends Error {
  /** The last run's error message (a {@linkcode PermanentJobError}'s message as thrown). */
  readonly reason: string;
  constructor(reason: string) {
    super(`The job failed: ${reason}`);
    this.name = "JobFailed";
    this.reason = reason;
  }
}

/** Thrown by {@linkcode JobClient.submit} when no answer came within the job timeout. */
export class JobTimedOut extends Error {
  constructor(seconds: number) {
    super(`No worker answered within ${seconds} s`);
    this.name = "JobTimedOut";
  }
}

/** Thrown by a job handler for a failure that another run would repeat: the job is not retried. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentJobError";
  }
}
