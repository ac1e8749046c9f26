/**
 * `/similar`: a shared clip in, five (or k) similar catalog tracks out. Split in two so adapters
 * can answer cheap refusals at once (privately, before any "thinking…") and defer only real work:
 * {@linkcode checkSimilar} validates synchronously, {@linkcode runSimilar} queues, downloads, searches.
 * @module
 */
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../../core/errors.ts";
import { formatClock } from "../../core/recommend/recommend.ts";
import {
  heardLabels,
  notice,
  type NoticeAnswer,
  type SimilarAnswer,
  similarAnswer,
  topLabels,
} from "../answer.ts";
import type { BotServices, ClipRef, OnUpdate, Requester } from "../context.ts";
import { looksLikeAudio } from "../audio_files.ts";
import { checkUrl, withDownload } from "../download.ts";
import { busyNotice, errorNotice, restartingNotice } from "./_errors.ts";

/** A `/similar` request as the adapters parse it. */
export interface SimilarRequest {
  requester: Requester;
  /** The clip; `undefined` when the command came without one. */
  clip: ClipRef | undefined;
  /** How many tracks. @default 5 */
  k?: number | undefined;
  /** Only catalog tracks of this top genre. */
  genre?: string | undefined;
  /** Where the clip starts: `m:ss`, `h:mm:ss` or seconds. */
  start?: string | undefined;
}

/** A request that passed {@linkcode checkSimilar}. */
export interface CheckedSimilar {
  kind: "checked";
  request: SimilarRequest;
  clip: ClipRef;
  k: number;
  startSeconds: number;
  /** When the request arrived, for the time shown with the answer. */
  receivedAt: number;
}

/** The latest start time accepted (a week: later than any clip); the job queue's limit too. */
export const MAX_START_SECONDS = 7 * 24 * 3600;

/**
 * Parses a start time.
 *
 * @param text `m:ss`, `h:mm:ss` or a number of seconds.
 * @returns Seconds.
 * @throws {SoundalikeError} `bad_request` for anything else.
 * @example
 * ```ts
 * import { parseStart } from "./similar.ts";
 * console.assert(parseStart("1:30") === 90 && parseStart("1:00:05") === 3605 && parseStart("45") === 45);
 * ```
 */
export function parseStart(text: string): number {
  const t = text.trim();
  const clock = /^(?:(\d+):)?(\d{1,3}):([0-5]\d)(?:\.\d+)?$/.exec(t);
  const seconds = clock
    ? Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3])
    : /^\d+(\.\d+)?s?$/.test(t)
    ? Number(t.replace(/s$/, ""))
    : undefined;
  if (seconds !== undefined && seconds > MAX_START_SECONDS) {
    throw new SoundalikeError(
      ErrorCode.BadRequest,
      `The start time ${JSON.stringify(t)} is later than any clip: give a time within the clip, like 1:30`,
    );
  }
  if (seconds !== undefined) return seconds;
  throw new SoundalikeError(
    ErrorCode.BadRequest,
    `I can't read the start time ${JSON.stringify(t)}: write it as m:ss, like 1:30`,
  );
}

/**
 * What can be said about a shared clip before downloading it: its declared type, its declared
 * size, and where it would be fetched from.
 *
 * @param services The bot's services (limits, logger).
 * @param clip The shared clip.
 * @returns A notice refusing it, or `undefined` when it may be fetched.
 */
export function checkClip(services: BotServices, clip: ClipRef): NoticeAnswer | undefined {
  if (clip.contentType !== undefined && !looksLikeAudio(clip.name, clip.contentType)) {
    return notice(
      "error",
      "bad_request",
      `${clip.name} is ${clip.contentType}, not audio: attach an audio clip (MP3, OGG, WAV, FLAC, M4A…)`,
    );
  }
  if (clip.size !== undefined && clip.size > services.app.config.maxUploadBytes) {
    const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);
    return notice(
      "error",
      "file_too_large",
      `${clip.name} is ${mb(clip.size)} MB, more than the ${
        mb(services.app.config.maxUploadBytes)
      } MB limit: send a shorter clip`,
    );
  }
  if (clip.location.kind === "url") {
    try {
      checkUrl(clip.location.url, clip.location.policy);
    } catch (err) {
      return errorNotice(err, services.logger, {});
    }
  }
  return undefined;
}

/**
 * Validates a request without waiting on anything: a clip is there, it looks like audio and is not
 * too large, the options are valid, the user is within the rate limit and the queue has room.
 *
 * @param services The bot's services (limits and configuration).
 * @param request The request.
 * @returns A refusal to show privately, or the checked request to run.
 */
export function checkSimilar(services: BotServices, request: SimilarRequest): NoticeAnswer | CheckedSimilar {
  const { config } = services.app;
  const clip = request.clip;
  if (clip === undefined) {
    return notice(
      "error",
      "bad_request",
      "Attach an audio clip (MP3, OGG, WAV, FLAC, M4A…) and I'll find tracks that sound like it",
    );
  }
  const refused = checkClip(services, clip);
  if (refused) return refused;
  const k = request.k ?? 5;
  if (!Number.isInteger(k) || k < 1 || k > config.bot.maxResults) {
    return notice("error", "bad_request", `Ask for 1 to ${config.bot.maxResults} tracks`);
  }
  let startSeconds = 0;
  if (request.start !== undefined && request.start.trim() !== "") {
    try {
      startSeconds = parseStart(request.start);
    } catch (err) {
      return errorNotice(err, services.logger, {});
    }
  }
  const refusal = admit(services, request.requester);
  if (refusal) return refusal;
  return { kind: "checked", request, clip, k, startSeconds, receivedAt: performance.now() };
}

/**
 * The rate limit and the queue's room, checked before any work is accepted.
 *
 * @param services Limits.
 * @param requester Who asks.
 * @returns A refusal, or `undefined` to go ahead.
 */
export function admit(services: BotServices, requester: Requester): NoticeAnswer | undefined {
  const { queue, limiter } = services;
  if (services.signal.aborted) return restartingNotice();
  if (queue.full) return busyNotice();
  // The console's one user is the operator trying the bot: no per-user limit there.
  const rate = requester.platform === "console"
    ? { ok: true as const, retryAfterSeconds: 0 }
    : limiter.take(`${requester.platform}:${requester.userId}`);
  return rate.ok ? undefined : rateNotice(rate.retryAfterSeconds);
}

/**
 * The limits shared by every chat process (with a job queue): room in the shared line, then the
 * user's shared rate limit. Without a queue there are none.
 *
 * @param services Limits.
 * @param requester Who asks.
 * @returns A refusal ("busy, try again shortly" when the engine does not answer), or `undefined`.
 */
export async function admitShared(
  services: BotServices,
  requester: Requester,
): Promise<NoticeAnswer | undefined> {
  const shared = services.shared;
  if (shared === undefined) return undefined;
  try {
    if (await shared.backlogFull()) return busyNotice();
    if (requester.platform === "console") return undefined;
    const rate = await shared.take(`${requester.platform}:${requester.userId}`);
    return rate.ok ? undefined : rateNotice(rate.retryAfterSeconds);
  } catch (err) {
    return errorNotice(err, services.logger, { user: `${requester.platform}:${requester.userId}` });
  }
}

/**
 * {@linkcode checkSimilar}, then the shared limits ({@linkcode admitShared}): what the adapters call.
 *
 * @param services The bot's services.
 * @param request The request.
 * @returns A refusal to show privately, or the checked request to run.
 */
export async function checkSimilarRequest(
  services: BotServices,
  request: SimilarRequest,
): Promise<NoticeAnswer | CheckedSimilar> {
  const checked = checkSimilar(services, request);
  if (checked.kind !== "checked") return checked;
  return await admitShared(services, request.requester) ?? checked;
}

function rateNotice(retryAfterSeconds: number): NoticeAnswer {
  return notice(
    "error",
    "rate_limited",
    `You're sending clips faster than I can listen: try again in ${retryAfterSeconds} s`,
  );
}

/**
 * Runs a checked request: waits for its turn (telling `onUpdate` its place in line), fetches the
 * clip into a temporary folder that is always removed, and searches.
 *
 * @param services The bot's services.
 * @param checked From {@linkcode checkSimilar}.
 * @param onUpdate Hears interim answers (the place in line).
 * @returns The similar tracks, or a notice saying what went wrong and what to do.
 */
export async function runSimilar(
  services: BotServices,
  checked: CheckedSimilar,
  onUpdate: OnUpdate = () => {},
): Promise<SimilarAnswer | NoticeAnswer> {
  const { request, clip } = checked;
  const context = { user: `${request.requester.platform}:${request.requester.userId}`, clip: clip.name };
  let answer: SimilarAnswer | NoticeAnswer;
  try {
    answer = await services.queue.run(
      () => search(services, checked),
      (position) =>
        void Promise.resolve(onUpdate(
          notice("wait", "queued", `You're #${position} in line: your tracks are coming`),
        )).catch((err) => services.logger.debug("Queue update not shown", { err })),
    );
  } catch (err) {
    answer = errorNotice(err, services.logger, context);
  }
  countAnswer(services, "similar", answer, checked.receivedAt);
  return answer;
}

/**
 * Counts an answer for `/metrics` (when served): `ok`, or the error notice's code.
 *
 * @param services Where the metrics are.
 * @param command The command answered.
 * @param answer The answer.
 * @param receivedAt When the request arrived (`performance.now()`).
 */
export function countAnswer(
  services: Pick<BotServices, "metrics">,
  command: string,
  answer: SimilarAnswer | NoticeAnswer,
  receivedAt: number,
): void {
  const outcome = answer.kind === "notice" && answer.tone === "error" ? answer.code : "ok";
  services.metrics?.answered(command, outcome, (performance.now() - receivedAt) / 1000);
}

async function search(services: BotServices, checked: CheckedSimilar): Promise<SimilarAnswer> {
  const { app } = services;
  const { clip, request } = checked;
  const options = {
    k: checked.k,
    ...(request.genre ? { genre: request.genre } : {}),
    ...(checked.startSeconds > 0 ? { startSeconds: checked.startSeconds } : {}),
  };
  const result = await withLocalClip(services, clip, (path) => app.similar(path, options));
  const notes: string[] = [];
  if (checked.startSeconds > 0) notes.push(`from ${formatClock(checked.startSeconds)}`);
  if (request.genre) notes.push(`${request.genre.trim()} tracks only`);
  if (result.clip.truncated) notes.push(`listened to the first ${formatClock(app.config.maxClipSeconds)}`);
  return similarAnswer({
    heading: `Tracks that sound like ${clip.name}`,
    hearing: topLabels(result.hearing),
    recommendations: result.recommendations,
    trackLabels: await labelsOf(services, result.recommendations.map((r) => r.trackId)),
    notes,
    elapsedMs: performance.now() - checked.receivedAt,
    index: result.index,
    method: result.method,
    indexVersion: result.indexVersion,
  });
}

/**
 * Gives `fn` a local path of the clip: the path itself, or a download into a fresh temporary
 * folder that is removed afterwards, whatever happens.
 *
 * @param services Limits, the shutdown signal.
 * @param clip The clip.
 * @param fn Work on the local file.
 * @returns What `fn` returns.
 */
export async function withLocalClip<T>(
  services: BotServices,
  clip: ClipRef,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  if (clip.location.kind === "path") return await fn(clip.location.path);
  const { config } = services.app;
  // The name is the platform's: only a safe extension is kept for ffmpeg's format guess.
  const ext = /\.[a-z0-9]{1,5}$/i.exec(clip.name)?.[0] ?? "";
  return await withDownload(
    clip.location.url,
    `clip${ext}`,
    {
      ...clip.location.policy,
      maxBytes: config.maxUploadBytes,
      timeoutMs: config.bot.downloadTimeoutSeconds * 1000,
    },
    services.signal,
    (downloaded) => fn(downloaded.path),
  );
}

/**
 * What the models heard in catalog tracks, as shown beside results (empty where not stored).
 *
 * @param services The app.
 * @param trackIds The tracks.
 * @returns Track id to labels.
 */
export async function labelsOf(
  services: Pick<BotServices, "app" | "logger">,
  trackIds: readonly number[],
): Promise<Map<number, ReturnType<typeof heardLabels>>> {
  const stored = await services.app.trackLabels(trackIds).catch((err) => {
    // A database outage is logged once by the app; the answer goes out without labels.
    if (isSoundalikeError(err, ErrorCode.CatalogUnreachable)) {
      services.logger.debug("Track labels unavailable");
    } else services.logger.warn("Track labels unavailable", { err });
    return new Map();
  });
  return new Map([...stored].map(([id, labels]) => [id, heardLabels(labels)]));
}
