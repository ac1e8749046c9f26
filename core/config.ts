/**
 * The one place that reads the environment. {@linkcode loadConfig} parses and validates every
 * variable at start-up and reports everything wrong in one message.
 * @module
 */
import { z } from "zod";
import { ErrorCode, SoundalikeError } from "./errors.ts";
import type { LogLevel } from "./logger.ts";

/** Validated configuration shared by the CLIs and the bots. */
export interface Config {
  /** PostgreSQL URL; `undefined` selects the embedded PGlite database in `dataDir`. */
  databaseUrl: string | undefined;
  /** Where PGlite, indexes and caches live. @default "data" */
  dataDir: string;
  /** Where `manifest.json` and the ONNX files live. @default "models" */
  modelsDir: string;
  /** onnxruntime execution provider. @default "auto" */
  ortProvider: "auto" | "cuda" | "cpu";
  /** Intra-op threads per ONNX session. @default 2 */
  ortThreads: number;
  /** Largest accepted upload in bytes. @default 50 MB */
  maxUploadBytes: number;
  /** Longest stretch of a clip that is decoded, in seconds. @default 1200 */
  maxClipSeconds: number;
  /** Index used by default for `similar`. @default "flat" */
  indexKind: "flat" | "ivf";
  /** Distance used when building indexes. @default "l2" */
  metric: "l2" | "cosine";
  /** IVF lists probed per query. @default 16 */
  nprobe: number;
  /** Tracks decoded and embedded at once during a reindex. @default 2 */
  reindexConcurrency: number;
  /** Least severe log level written. @default "info" (the CLIs default to "warn") */
  logLevel: LogLevel;
  /** The directory relative paths on the command line are resolved against (`INIT_CWD` under `deno task`). */
  cwd: string;
}

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** Log level when `LOG_LEVEL` is unset. @default "info" */
  defaultLogLevel?: LogLevel;
  /** Working directory when `INIT_CWD` is unset. @default Deno.cwd() */
  cwd?: string;
}

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional(),
  SOUNDALIKE_DATA_DIR: z.string().min(1).default("data"),
  SOUNDALIKE_MODELS_DIR: z.string().min(1).default("models"),
  ORT_PROVIDER: z.enum(["auto", "cuda", "cpu"]).default("auto"),
  ORT_THREADS: intIn(1, 256).default(2),
  SOUNDALIKE_MAX_UPLOAD_MB: z.coerce.number().positive().max(4096).default(50),
  SOUNDALIKE_MAX_CLIP_SECONDS: intIn(10, 6 * 3600).default(1200),
  SOUNDALIKE_INDEX: z.enum(["flat", "ivf"]).default("flat"),
  SOUNDALIKE_METRIC: z.enum(["l2", "cosine"]).default("l2"),
  SOUNDALIKE_NPROBE: intIn(1, 65536).default(16),
  SOUNDALIKE_REINDEX_CONCURRENCY: intIn(1, 64).default(2),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).optional(),
  // Set by `deno task` (and npm) to the directory the command was typed in.
  INIT_CWD: z.string().optional(),
});

/** The variables {@linkcode loadConfig} reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/**
 * Parses the configuration from an environment record.
 *
 * @param env The variables, e.g. `Deno.env.toObject()`; empty strings count as unset.
 * @returns The validated {@linkcode Config}.
 * @throws {SoundalikeError} `bad_config`, listing every invalid variable at once.
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ ORT_THREADS: "4" });
 * console.assert(config.ortThreads === 4 && config.indexKind === "flat");
 * ```
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  options: ParseConfigOptions = {},
): Config {
  const relevant: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    if (value !== undefined && value.trim() !== "") relevant[key] = value.trim();
  }
  const parsed = schema.safeParse(relevant);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "?");
      return `${key}=${JSON.stringify(relevant[key] ?? "")}: ${issue.message}`;
    });
    throw new SoundalikeError(
      ErrorCode.BadConfig,
      `Invalid configuration: ${problems.join("; ")}`,
    );
  }
  const v = parsed.data;
  return {
    databaseUrl: v.DATABASE_URL,
    dataDir: v.SOUNDALIKE_DATA_DIR,
    modelsDir: v.SOUNDALIKE_MODELS_DIR,
    ortProvider: v.ORT_PROVIDER,
    ortThreads: v.ORT_THREADS,
    maxUploadBytes: Math.round(v.SOUNDALIKE_MAX_UPLOAD_MB * 1024 * 1024),
    maxClipSeconds: v.SOUNDALIKE_MAX_CLIP_SECONDS,
    indexKind: v.SOUNDALIKE_INDEX,
    metric: v.SOUNDALIKE_METRIC,
    nprobe: v.SOUNDALIKE_NPROBE,
    reindexConcurrency: v.SOUNDALIKE_REINDEX_CONCURRENCY,
    logLevel: v.LOG_LEVEL ?? options.defaultLogLevel ?? "info",
    cwd: v.INIT_CWD ?? options.cwd ?? Deno.cwd(),
  };
}

/**
 * Reads and validates the process environment. Call once, at start-up.
 *
 * @param options Defaults that depend on the program (the CLIs log warnings only by default).
 * @returns The validated {@linkcode Config}.
 * @throws {SoundalikeError} `bad_config` when any variable is invalid.
 */
export function loadConfig(options: ParseConfigOptions = {}): Config {
  return parseConfig(Deno.env.toObject(), options);
}
