/**
 * The job protocol between chat processes and workers: the kinds of work, their payloads as JSON
 * (vectors as base64 float32), the checks a worker makes before running anything (a malformed or
 * oversized message is refused, never crashes it), and how a user's error travels back.
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { type ErrorCode, isSoundalikeError, SoundalikeError } from "../../core/errors.ts";
import { MAX_START_SECONDS } from "../handlers/similar.ts";

/** The folder on shared storage where chat processes stage clips for workers. */
export function clipsDir(config: Pick<Config, "dataDir">): string {
  return join(config.dataDir, "queue", "clips");
}

/** Largest job message accepted, as JSON: a 2304-d vector is about 12 KB, a batch of paths a few. */
export const MAX_JOB_BYTES = 256 * 1024;

/** A clip staged on shared storage: a file name in the queue's clips folder, no folders. */
const clipName = z.string().regex(/^[\w-]{1,80}(\.[a-z0-9]{1,5})?$/i, "must be a staged clip's file name");
const searchOptions = z.object({
  k: z.number().int().min(1).max(100).optional(),
  genre: z.string().max(200).optional(),
  index: z.enum(["flat", "ivf"]).optional(),
  nprobe: z.number().int().min(1).max(65536).optional(),
  method: z.enum(["clip", "segment"]).optional(),
}).strict();
const f32 = z.object({ $f32: z.string().max(MAX_JOB_BYTES) }).strict();

/** The payload of each kind of job. */
export const JOB_SCHEMAS = {
  /** A shared clip's similar tracks (`App.similar`). */
  similar: z.object({
    clip: clipName,
    options: searchOptions.extend({ startSeconds: z.number().min(0).max(MAX_START_SECONDS).optional() })
      .strict(),
  }).strict(),
  /** What the models hear in a clip, and its vector (`App.analyze`, a party share). */
  analyze: z.object({ clip: clipName }).strict(),
  /** "More like": a catalog track's neighbours (`App.similarToTrack`). */
  similar_to_track: z.object({ trackId: z.number().int().positive(), options: searchOptions }).strict(),
  /** A vector's neighbours with tracks left out (`App.similarToVector`, a party's next track). */
  similar_to_vector: z.object({
    vector: f32,
    options: searchOptions.extend({
      exclude: z.array(z.number().int().positive()).max(100_000).optional(),
      clipSeconds: z.number().positive().max(1e6).optional(),
    }).strict(),
  }).strict(),
  /** Decode and embed catalog files, for a reindex run by another process. */
  embed_files: z.object({ paths: z.array(z.string().min(1).max(4096)).min(1).max(256) }).strict(),
} as const;

/** The kinds of job. */
export type JobKind = keyof typeof JOB_SCHEMAS;

/** A kind's payload, as sent. */
export type JobPayload<K extends JobKind> = z.infer<typeof JOB_SCHEMAS[K]>;

/** Why a job message was refused before anything ran. */
export class MalformedJob extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedJob";
  }
}

/**
 * Checks a job message: a known kind, no larger than {@linkcode MAX_JOB_BYTES}, its payload exactly
 * as the schema says.
 *
 * @param kind The job's name.
 * @param data The job's data, as the engine delivered it.
 * @returns The kind and the typed payload.
 * @throws {MalformedJob} With one sentence saying what is wrong.
 * @example
 * ```ts
 * import { parseJob } from "./jobs.ts";
 * const job = parseJob("similar_to_track", { trackId: 3, options: { k: 5 } });
 * console.assert(job.kind === "similar_to_track");
 * ```
 */
export function parseJob(
  kind: string,
  data: unknown,
): { [K in JobKind]: { kind: K; payload: JobPayload<K> } }[JobKind] {
  if (!Object.hasOwn(JOB_SCHEMAS, kind)) {
    throw new MalformedJob(`Unknown job kind ${JSON.stringify(kind.slice(0, 40))}`);
  }
  let size: number;
  try {
    size = JSON.stringify(data ?? null).length;
  } catch {
    throw new MalformedJob("The job's data is not JSON");
  }
  if (size > MAX_JOB_BYTES) {
    throw new MalformedJob(`The job is ${size} bytes, more than the ${MAX_JOB_BYTES}-byte limit`);
  }
  const parsed = JOB_SCHEMAS[kind as JobKind].safeParse(data);
  if (!parsed.success) {
    const problem = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "data"}: ${i.message}`);
    throw new MalformedJob(`The ${kind} job's data is malformed: ${problem.join("; ")}`);
  }
  return { kind, payload: parsed.data } as { [K in JobKind]: { kind: K; payload: JobPayload<K> } }[JobKind];
}

/**
 * Turns a value into plain JSON for the queue: every `Float32Array` becomes `{ $f32: base64 }`.
 *
 * @param value An answer or payload.
 * @returns The same shape, JSON-safe.
 * @example
 * ```ts
 * import { fromWire, toWire } from "./jobs.ts";
 * const back = fromWire(JSON.parse(JSON.stringify(toWire({ v: new Float32Array([0.5, -1]) })))) as { v: Float32Array };
 * console.assert(back.v instanceof Float32Array && back.v[1] === -1);
 * ```
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Float32Array) {
    return { $f32: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (value instanceof Set) return [...value].map(toWire);
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

/**
 * The reverse of {@linkcode toWire}.
 *
 * @param value JSON from the queue.
 * @returns The value with its `Float32Array`s.
 */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === "object") {
    const rec = value as Record<string, unknown>;
    if (typeof rec.$f32 === "string" && Object.keys(rec).length === 1) {
      const bytes = Buffer.from(rec.$f32, "base64");
      if (bytes.byteLength % 4 !== 0) throw new MalformedJob("A vector's bytes are not whole float32 values");
      // A copy: the Buffer may sit unaligned in a shared pool.
      return new Float32Array(new Uint8Array(bytes).buffer);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) out[k] = fromWire(v);
    return out;
  }
  return value;
}

/** Marks a user's error (a `SoundalikeError`) so the chat process can show its sentence as is. */
const USER_ERROR = "soundalike-user-error:";

/**
 * The failure message a worker records for an error: a user's error keeps its code and sentence.
 *
 * @param err What the job threw.
 * @returns The message for the engine, or `undefined` when it is not a user's error.
 */
export function userErrorReason(err: unknown): string | undefined {
  return isSoundalikeError(err)
    ? USER_ERROR + JSON.stringify({ code: err.code, message: err.message })
    : undefined;
}

/**
 * The user's error a failure message carries, if any.
 *
 * @param reason The engine's failure message.
 * @returns The error to rethrow, or `undefined`.
 * @example
 * ```ts
 * import { SoundalikeError } from "../../core/errors.ts";
 * import { userErrorFrom, userErrorReason } from "./jobs.ts";
 * const reason = userErrorReason(new SoundalikeError("clip_too_short", "The clip is 1 s long"))!;
 * console.assert(userErrorFrom(reason)?.code === "clip_too_short");
 * ```
 */
export function userErrorFrom(reason: string): SoundalikeError | undefined {
  const at = reason.indexOf(USER_ERROR);
  if (at < 0) return undefined;
  try {
    const { code, message } = JSON.parse(reason.slice(at + USER_ERROR.length)) as {
      code: string;
      message: string;
    };
    if (typeof code !== "string" || typeof message !== "string") return undefined;
    return new SoundalikeError(code as ErrorCode, message);
  } catch {
    return undefined;
  }
}
