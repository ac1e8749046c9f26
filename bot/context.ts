/**
 * What handlers receive: who asks, the clip they point at, and the services they may use. The
 * adapters build these from platform events; handlers never see a Discord or Slack type.
 * @module
 */
import type { App } from "../core/app.ts";
import type { Logger, PartyStore } from "../core/mod.ts";
import type { Answer } from "./answer.ts";
import type { DownloadPolicy } from "./download.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { ReindexRunner } from "./handlers/reindex.ts";
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
    | "config"
  >;
  /** Listening parties (stored in the database). */
  parties: PartyStore;
  queue: WorkQueue;
  limiter: RateLimiter;
  reindex: ReindexRunner;
  logger: Logger;
  /** Aborted at shutdown: downloads stop, queued work is refused. */
  signal: AbortSignal;
}

/** Receives interim answers (a place in line, reindex progress) while a request runs. */
export type OnUpdate = (answer: Answer) => void | Promise<void>;
