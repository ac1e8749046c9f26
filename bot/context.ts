/**
 * What handlers receive: who asks, the clip they point at, and the services they may use. The
 * adapters build these from platform events; handlers never see a Discord or Slack type.
 * @module
 */
import type { App } from "../core/app.ts";
import type { Logger, PartyStore } from "../core/mod.ts";
import type { Answer, NoticeAnswer, ReindexProgressAnswer, ReindexSummaryAnswer } from "./answer.ts";
import type { DownloadPolicy } from "./download.ts";
import type { RateDecision, RateLimiter } from "./rate_limit.ts";
import type { Metrics } from "./ops/metrics.ts";
import type { WorkQueue } from "./work_queue.ts";

/** The person behind a request. */
export interface Requester {
  platform: "discord" | "slack" | "console";
  /** The platform's user id. */
  userId: string;
  /** How to name them in public messages. */
  name: string;
  /** Whether they may run admin commands (`/reindex`), as the adapter established it. */
  isAdmin: boolean;
}

/** Where a clip is. */
export type ClipLocation =
  | { kind: "path"; path: string }
  | { kind: "url"; url: string; policy: Omit<DownloadPolicy, "maxBytes" | "timeoutMs"> };

/** A clip a user shared, as the platform describes it before anything is downloaded. */
export interface ClipRef {
  /** The file name shown to users. */
  name: string;
  /** Size in bytes, when the platform says. */
  size: number | undefined;
  /** MIME type, when the platform says. */
  contentType: string | undefined;
  location: ClipLocation;
}

/** The services of the warm bot process. */
export interface BotServices {
  app: Pick<
    App,
    | "similar"
    | "similarToTrack"
    | "similarToVector"
    | "analyze"
    | "genres"
    | "trackLabels"
    | "update"
    | "stats"
    | "catalogState"
    | "config"
  >;
  /** Listening parties (stored in the database). */
  parties: PartyStore;
  queue: WorkQueue;
  limiter: RateLimiter;
  reindex: ReindexControl;
  logger: Logger;
  /** Aborted at shutdown: downloads stop, queued work is refused. */
  signal: AbortSignal;
  /** Limits shared by every chat process (with a job queue); checked after the local ones. */
  shared?: SharedAdmission;
  /** Answers counted for `/metrics`, when served. */
  metrics?: Pick<Metrics, "answered">;
}

/**
 * Admission kept on the queue's engine, so that several chat processes share it. Both methods
 * throw when the engine does not answer; the handlers then answer "busy, try again shortly".
 */
export interface SharedAdmission {
  /** Records a request by `key` if it is within the per-user limit. */
  take(key: string): Promise<RateDecision>;
  /** Whether the line of work waiting for a worker is full. */
  backlogFull(): Promise<boolean>;
}

/** A reindex request. */
export interface ReindexRequest {
  requester: Requester;
  /** A catalog folder; only the console may name one. @default config.catalogDir */
  dir?: string | undefined;
}

/**
 * One reindex at a time, as the adapters drive it (`handlers/reindex.ts`'s `ReindexRunner`): declared
 * here so the context needs nothing from the handlers.
 */
export interface ReindexControl {
  /**
   * Starts a reindex unless one runs or the requester is not an admin.
   *
   * @param request Who asks, and the folder.
   * @param onUpdate Hears progress answers while it runs.
   * @returns A refusal (also when another chat process runs one), or the first progress answer and the
   *   summary to come.
   */
  start(
    request: ReindexRequest,
    onUpdate: OnUpdate,
  ): Promise<
    { started: false; answer: NoticeAnswer } | {
      started: true;
      answer: ReindexProgressAnswer;
      done: Promise<ReindexSummaryAnswer>;
    }
  >;
  /** Stops a running reindex at the next batch and waits for it to end. */
  stop(): Promise<void>;
}

/** Receives interim answers (a place in line, reindex progress) while a request runs. */
export type OnUpdate = (answer: Answer) => void | Promise<void>;
