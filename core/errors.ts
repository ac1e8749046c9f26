/**
 * Domain errors: problems a user can cause (a bad clip, a missing model) carry a stable code so the
 * CLI and the bots can answer them kindly; everything else is a programmer error and uses the
 * built-in error classes.
 * @module
 */

/** Stable identifiers for user-facing errors. */
export const ErrorCode = {
  /** The file is not audio, is corrupt, truncated or empty. */
  UnreadableAudio: "unreadable_audio",
  /** The clip is shorter than the minimum length. */
  ClipTooShort: "clip_too_short",
  /** The clip contains only silence. */
  SilentClip: "silent_clip",
  /** The file is larger than the configured limit. */
  FileTooLarge: "file_too_large",
  /** The path does not exist or cannot be read. */
  FileNotFound: "file_not_found",
  /** A model file is missing, or its hash or feature parameters disagree with the manifest. */
  ModelMismatch: "model_mismatch",
  /** The search index is missing or was built with other models. */
  IndexMissing: "index_missing",
  /** The configuration is invalid. */
  BadConfig: "bad_config",
  /** A dataset folder is missing, empty or malformed. */
  BadDataset: "bad_dataset",
  /** Another reindex holds the lock. */
  Busy: "busy",
  /** An external tool (ffmpeg, fluidsynth, yt-dlp) is not installed. */
  MissingTool: "missing_tool",
  /** A request's options are invalid (an unknown genre, a bad start time). */
  BadRequest: "bad_request",
  /** A catalog track asked for by id is no longer in the catalog or its index. */
  TrackGone: "track_gone",
  /** A link or attachment is refused before downloading (scheme, host, size, type). */
  DownloadRefused: "download_refused",
  /** A download failed (not found, expired, timed out, not audio). */
  DownloadFailed: "download_failed",
  /** The database failed a step of a catalog update (refused a write, or failed mid-update). */
  DatabaseError: "database_error",
  /**
   * The catalog's database does not answer (stopped, restarting, unreachable): nothing to fix in the
   * request; it works again once the server is back.
   */
  CatalogUnreachable: "catalog_unreachable",
  /** The search index could not be built or written (FAISS failed, the disk is full). */
  IndexFailed: "index_failed",
} as const;

/** One of {@linkcode ErrorCode}'s values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * An error the user can cause and fix. `message` is one friendly sentence that can be shown as is.
 *
 * @example
 * ```ts
 * import { ErrorCode, SoundalikeError } from "./errors.ts";
 * const err = new SoundalikeError(ErrorCode.ClipTooShort, "The clip is 1.2 s long: send at least 3 s");
 * console.assert(err.code === "clip_too_short");
 * ```
 */
export class SoundalikeError extends Error {
  /** Stable identifier, see {@linkcode ErrorCode}. */
  readonly code: ErrorCode;

  /**
   * @param code Stable identifier.
   * @param message One friendly sentence, capitalised, no final period.
   * @param options `cause`: the underlying error, kept for logs.
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SoundalikeError";
    this.code = code;
  }
}

/**
 * Whether `err` is a {@linkcode SoundalikeError}, optionally with the given code.
 *
 * @param err Anything caught.
 * @param code The code to match, if any.
 * @returns `true` when it is a domain error (with that code).
 */
export function isSoundalikeError(err: unknown, code?: ErrorCode): err is SoundalikeError {
  return err instanceof SoundalikeError && (code === undefined || err.code === code);
}
