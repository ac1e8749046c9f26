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
  /**
   * How clips are compared: window vectors (the quality benchmark's choice: an excerpt matches its
   * source) or whole clip vectors (the paper's method). @default "segment"
   */
  searchMethod: "clip" | "segment";
  /** IVF lists probed per query. @default 16 */
  nprobe: number;
  // Issue 13 (scale): the window index of segment search.
  /**
   * The window index a reindex builds: exact (`flat`), approximate (`approx`: IVF-PQ with an exact
   * re-rank from full vectors on disk) or by catalog size (`auto`: approximate from 20,000 tracks).
   * @default "auto"
   */
  windowIndex: "auto" | "flat" | "approx";
  /** Approximate window index: lists visited per query window. @default the stored one (8) */
  windowNprobe: number | undefined;
  /** Approximate window index: candidates re-ranked exactly per query window. @default the stored one (256; 512 from 500,000 tracks) */
  windowRerank: number | undefined;
  /** Tracks decoded and embedded at once during a reindex. @default 2 */
  reindexConcurrency: number;
  /**
   * ffmpeg processes decoding query clips at once; clips that arrive while all are busy wait and
   * share the next process (`core/audio/decode_batch.ts`). Starting ffmpeg costs as much CPU as decoding a
   * 30 s clip, so fewer, fuller runs answer more clips per second. @default half the cores, at least 1
   */
  decodeProcesses: number;
  /** Least severe log level written. @default "info" (the CLIs default to "warn") */
  logLevel: LogLevel;
  /** The directory relative paths on the command line are resolved against (`INIT_CWD` under `deno task`). */
  cwd: string;
  /** The catalog folder a chat `/reindex` re-reads; `undefined`: re-embed the stored catalog only. */
  catalogDir: string | undefined;
  /** Whether {@linkcode Config.catalogDir} is an FMA tree. @default false */
  catalogIsFma: boolean;
  /** Limits of the chat bots. */
  bot: BotLimits;
  /** Discord, when `DISCORD_TOKEN` is set. */
  discord: DiscordConfig | undefined;
  /** Slack, when its credentials are set. */
  slack: SlackConfig | undefined;
  /** Listening parties and the links they fetch. */
  party: PartyConfig;
  /** Several processes: the job queue, Discord shards, health and metrics, log format (issue 14). */
  scale: ScaleConfig;
}

/** Listening parties and shared links. */
export interface PartyConfig {
  /** A party with no activity for this long ends with its summary. @default 60 */
  idleMinutes: number;
  /** Who may start and stop a party on Discord. @default "managers" (Manage Messages) */
  discordHosts: "managers" | "everyone";
  /** Who may start and stop a party on Slack. @default "everyone" (in the channel); "admins" */
  slackHosts: "everyone" | "admins";
  /** The yt-dlp executable. @default "yt-dlp" */
  ytDlpPath: string;
  /** Hosts (`name`, `name:port`, `*.domain`) whose links are fetched. */
  linkHosts: string[];
  /** Private-address hosts allowed anyway (a LAN server; the tests' local server). @default none */
  linkPrivateHosts: string[];
  /** Longest linked media accepted, in seconds. @default 900 */
  linkMaxSeconds: number;
  /** Wall-clock limit for fetching one link, in seconds. @default 120 */
  linkTimeoutSeconds: number;
}

/** The sites whose links a party fetches by default (yt-dlp supports them; all serve music). */
export const DEFAULT_LINK_HOSTS: readonly string[] = [
  "youtube.com",
  "*.youtube.com",
  "youtu.be",
  "soundcloud.com",
  "*.soundcloud.com",
  "bandcamp.com",
  "*.bandcamp.com",
  "vimeo.com",
  "*.vimeo.com",
  "mixcloud.com",
  "*.mixcloud.com",
  "archive.org",
  "freemusicarchive.org",
  "*.freemusicarchive.org",
];

/** How much work the bot takes on. */
export interface BotLimits {
  /** Clips processed at once (beyond `decodeProcesses`, their decodes share ffmpeg runs). @default 6 */
  concurrency: number;
  /** Requests waiting beyond those running; more are refused as busy. @default 20 */
  queueSize: number;
  /** Requests per user per minute. @default 6 */
  perUserPerMinute: number;
  /** Seconds a download may take. @default 30 */
  downloadTimeoutSeconds: number;
  /** Largest `k` a chat user may ask for. @default 10 */
  maxResults: number;
}

/** The Discord bot's settings. */
export interface DiscordConfig {
  token: string;
  /** The application id, needed by `deno task register` (read from the token's gateway session otherwise). */
  applicationId: string | undefined;
  /** REST base URL (a local fake in tests). @default "https://discord.com/api" */
  apiUrl: string;
  /** Hosts attachments may be downloaded from. @default Discord's CDN hosts */
  cdnHosts: string[];
  /** Gateway sharding; absent: one connection, as discord.js does by default. */
  shards?: DiscordShards;
}

/** The Slack app's settings. */
export interface SlackConfig {
  botToken: string;
  /** Verifies HTTP requests; required without Socket Mode. */
  signingSecret: string | undefined;
  /** An app-level token (`xapp-…`) selects Socket Mode. */
  appToken: string | undefined;
  /** HTTP receiver port (0 picks a free one). @default 3000 */
  port: number;
  /** Web API base URL (a local fake in tests). @default "https://slack.com/api/" */
  apiUrl: string;
  /** Hosts the bot token may be sent to when downloading files. @default Slack's file hosts */
  fileHosts: string[];
  /** User ids allowed to run `/reindex`. */
  adminUserIds: string[];
  /** Whether workspace admins and owners may run `/reindex` too. @default false */
  allowWorkspaceAdmins: boolean;
}

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** Log level when `LOG_LEVEL` is unset. @default "info" */
  defaultLogLevel?: LogLevel;
  /** Working directory when `INIT_CWD` is unset. @default Deno.cwd() */
  cwd?: string;
}

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((v) =>
  ["1", "true", "yes"].includes(v)
);
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL");
// Hosts as `name` or `name:port` (tests point the allowlists at 127.0.0.1:<port>).
const hostList = z.string().transform((v) => v.split(/[\s,]+/).filter(Boolean).map((h) => h.toLowerCase()))
  .pipe(z.array(z.string().regex(/^[a-z0-9.-]+(:\d{1,5})?$/, "must be host names, comma-separated")).min(1));
// The same, with `*.domain` wildcards allowed, possibly empty.
const hostPatterns = z.string().transform((v) =>
  v.split(/[\s,]+/).filter(Boolean).map((h) => h.toLowerCase())
)
  .pipe(
    z.array(
      z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/, "must be host names or *.domain, comma-separated"),
    ),
  );

// --- Several processes (issue 14): one block of types, variables and checks. ---

/** The job queue chat processes hand work to and `deno task worker` processes take it from. */
export interface QueueConfig {
  /** The Redis server BullMQ (and the shared rate limits) use: `redis://` or `rediss://`. */
  url: string;
  /** Key prefix of this deployment's queue and limits (two deployments can share one Redis). @default "soundalike" */
  prefix: string;
  /** Jobs one worker process runs at once (their decodes share ffmpeg runs, as in one process). @default 6 */
  workerConcurrency: number;
  /** Runs of a job that fails before it is given up. @default 3 */
  attempts: number;
  /** A worker that has not renewed its lock for this long is taken for dead and its job is retried. @default 30 */
  lockSeconds: number;
  /** Longest a chat process waits for a job's answer. @default 120 */
  jobTimeoutSeconds: number;
}

/** Running as many processes: see the README's deployment notes. */
export interface ScaleConfig {
  /** The job queue; `undefined` (the default): everything runs in this one process, as before. */
  queue: QueueConfig | undefined;
  /** Port of `/healthz` and `/metrics` (0 picks a free one); `undefined`: not served. */
  opsPort: number | undefined;
  /** `text` (today's lines) or `json` (one object a line, with the process's role and shard ids). @default "text" */
  logFormat: "text" | "json";
}

/** Discord's gateway sharding (`DISCORD_SHARDS`, `DISCORD_SHARD_IDS`). */
export interface DiscordShards {
  /** `auto`: the count Discord recommends; a number: that many shards in all. */
  count: "auto" | number;
  /** The shard ids this process connects; `undefined`: all of them. */
  ids: number[] | undefined;
}

/** Parses `0,2,4-7` into sorted distinct ids. */
const idList = z.string().regex(
  /^\s*\d{1,5}(\s*-\s*\d{1,5})?(\s*,\s*\d{1,5}(\s*-\s*\d{1,5})?)*\s*$/,
  "must be shard ids like 0,2,4-7",
)
  .transform((v) => {
    const ids = new Set<number>();
    for (const part of v.split(",")) {
      const [a, b] = part.split("-").map((x) => Number(x.trim()));
      for (let i = a!; i <= (b ?? a!) && ids.size <= 65536; i++) ids.add(i);
    }
    return [...ids].sort((x, y) => x - y);
  });

const scaleVariables = {
  SOUNDALIKE_QUEUE_URL: z.string().regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL")
    .optional(),
  SOUNDALIKE_QUEUE_PREFIX: z.string().regex(/^[\w-]{1,40}$/, "must be 1 to 40 letters, digits, - or _")
    .default("soundalike"),
  SOUNDALIKE_WORKER_CONCURRENCY: intIn(1, 64).default(6),
  SOUNDALIKE_JOB_ATTEMPTS: intIn(1, 10).default(3),
  SOUNDALIKE_JOB_LOCK_S: intIn(1, 600).default(30),
  SOUNDALIKE_JOB_TIMEOUT_S: intIn(1, 3600).default(120),
  SOUNDALIKE_OPS_PORT: intIn(0, 65535).optional(),
  LOG_FORMAT: z.enum(["text", "json"]).default("text"),
  DISCORD_SHARDS: z.string().regex(/^(auto|\d{1,5})$/, "must be auto or a number of shards").optional(),
  DISCORD_SHARD_IDS: idList.optional(),
};

/** Checks across the variables of {@linkcode scaleVariables}. */
function checkScale(
  v: {
    DATABASE_URL?: string | undefined;
    SOUNDALIKE_QUEUE_URL?: string | undefined;
    DISCORD_SHARDS?: string | undefined;
    DISCORD_SHARD_IDS?: number[] | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  // PGlite lives inside one process: workers and chat processes must share a PostgreSQL server.
  if (v.SOUNDALIKE_QUEUE_URL !== undefined && v.DATABASE_URL === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["SOUNDALIKE_QUEUE_URL"],
      message: "needs DATABASE_URL (a PostgreSQL server all processes share; PGlite is one process only)",
    });
  }
  if (v.DISCORD_SHARD_IDS !== undefined) {
    const count = Number(v.DISCORD_SHARDS);
    if (!Number.isInteger(count) || count < 1) {
      ctx.addIssue({
        code: "custom",
        path: ["DISCORD_SHARD_IDS"],
        message: "needs DISCORD_SHARDS set to the number of shards in all",
      });
    } else if (v.DISCORD_SHARD_IDS.some((id) => id >= count)) {
      ctx.addIssue({
        code: "custom",
        path: ["DISCORD_SHARD_IDS"],
        message: `must be below DISCORD_SHARDS (${count}): shard ids count from 0`,
      });
    }
  }
  if (v.DISCORD_SHARDS !== undefined && v.DISCORD_SHARDS !== "auto" && Number(v.DISCORD_SHARDS) < 1) {
    ctx.addIssue({ code: "custom", path: ["DISCORD_SHARDS"], message: "must be at least 1" });
  }
}

// --- end of the several-processes block ---

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
  SOUNDALIKE_SEARCH: z.enum(["clip", "segment"]).default("segment"),
  SOUNDALIKE_NPROBE: intIn(1, 65536).default(16),
  // Issue 13 (scale): the window index of segment search.
  SOUNDALIKE_WINDOW_INDEX: z.enum(["auto", "flat", "approx"]).default("auto"),
  SOUNDALIKE_WINDOW_NPROBE: intIn(1, 65536).optional(),
  SOUNDALIKE_WINDOW_RERANK: intIn(1, 100_000).optional(),
  SOUNDALIKE_REINDEX_CONCURRENCY: intIn(1, 64).default(2),
  SOUNDALIKE_DECODE_PROCESSES: intIn(1, 64).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).optional(),
  // Set by `deno task` (and npm) to the directory the command was typed in.
  INIT_CWD: z.string().optional(),
  SOUNDALIKE_CATALOG_DIR: z.string().optional(),
  SOUNDALIKE_CATALOG_FMA: bool.default(false),
  SOUNDALIKE_BOT_CONCURRENCY: intIn(1, 64).default(6),
  SOUNDALIKE_BOT_QUEUE: intIn(0, 10_000).default(20),
  SOUNDALIKE_BOT_RATE_PER_MINUTE: intIn(1, 10_000).default(6),
  SOUNDALIKE_DOWNLOAD_TIMEOUT_S: intIn(1, 600).default(30),
  SOUNDALIKE_BOT_MAX_RESULTS: intIn(1, 10).default(10),
  DISCORD_TOKEN: z.string().optional(),
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{15,22}$/, "must be the application's numeric id").optional(),
  DISCORD_API_URL: httpUrl.default("https://discord.com/api"),
  DISCORD_CDN_HOSTS: hostList.default(["cdn.discordapp.com", "media.discordapp.net"]),
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, "must be a bot token (xoxb-…)").optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, "must be an app-level token (xapp-…)").optional(),
  SLACK_PORT: intIn(0, 65535).default(3000),
  SLACK_API_URL: httpUrl.default("https://slack.com/api/"),
  SLACK_FILE_HOSTS: hostList.default(["files.slack.com", "files-origin.slack.com"]),
  SLACK_ADMIN_USER_IDS: z.string().default("").transform((v) => v.split(/[\s,]+/).filter(Boolean)),
  SLACK_ALLOW_WORKSPACE_ADMINS: bool.default(false),
  SOUNDALIKE_PARTY_IDLE_MINUTES: intIn(1, 7 * 24 * 60).default(60),
  DISCORD_PARTY_HOSTS: z.enum(["managers", "everyone"]).default("managers"),
  SLACK_PARTY_HOSTS: z.enum(["everyone", "admins"]).default("everyone"),
  SOUNDALIKE_YTDLP_PATH: z.string().min(1).default("yt-dlp"),
  SOUNDALIKE_LINK_HOSTS: hostPatterns.default([...DEFAULT_LINK_HOSTS]),
  SOUNDALIKE_LINK_PRIVATE_HOSTS: z.string().default("").pipe(hostPatterns),
  SOUNDALIKE_LINK_MAX_MINUTES: intIn(1, 600).default(15),
  SOUNDALIKE_LINK_TIMEOUT_S: intIn(5, 3600).default(120),
  ...scaleVariables,
}).superRefine((v, ctx) => {
  checkScale(v, ctx);
  const slackParts = [v.SLACK_BOT_TOKEN, v.SLACK_SIGNING_SECRET, v.SLACK_APP_TOKEN].filter((x) => x);
  if (slackParts.length > 0 && v.SLACK_BOT_TOKEN === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["SLACK_BOT_TOKEN"],
      message: "is needed with the other SLACK_ variables",
    });
  }
  if (v.SLACK_BOT_TOKEN !== undefined && !v.SLACK_SIGNING_SECRET && !v.SLACK_APP_TOKEN) {
    ctx.addIssue({
      code: "custom",
      path: ["SLACK_SIGNING_SECRET"],
      message: "is needed with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)",
    });
  }
  if (v.DISCORD_TOKEN !== undefined && !/^[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}$/.test(v.DISCORD_TOKEN)) {
    ctx.addIssue({ code: "custom", path: ["DISCORD_TOKEN"], message: "does not look like a bot token" });
  }
});

/** The variables {@linkcode loadConfig} reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/** Variables whose values are secrets: never echoed in error messages. */
const SECRET_VARIABLES = new Set([
  "DISCORD_TOKEN",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
]);

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
      const shown = SECRET_VARIABLES.has(key) ? "(hidden)" : JSON.stringify(relevant[key] ?? "");
      return `${key}=${shown}: ${issue.message}`;
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
    searchMethod: v.SOUNDALIKE_SEARCH,
    nprobe: v.SOUNDALIKE_NPROBE,
    windowIndex: v.SOUNDALIKE_WINDOW_INDEX,
    windowNprobe: v.SOUNDALIKE_WINDOW_NPROBE,
    windowRerank: v.SOUNDALIKE_WINDOW_RERANK,
    reindexConcurrency: v.SOUNDALIKE_REINDEX_CONCURRENCY,
    decodeProcesses: v.SOUNDALIKE_DECODE_PROCESSES ??
      Math.max(1, Math.floor(navigator.hardwareConcurrency / 2)),
    logLevel: v.LOG_LEVEL ?? options.defaultLogLevel ?? "info",
    cwd: v.INIT_CWD ?? options.cwd ?? Deno.cwd(),
    catalogDir: v.SOUNDALIKE_CATALOG_DIR,
    catalogIsFma: v.SOUNDALIKE_CATALOG_FMA,
    bot: {
      concurrency: v.SOUNDALIKE_BOT_CONCURRENCY,
      queueSize: v.SOUNDALIKE_BOT_QUEUE,
      perUserPerMinute: v.SOUNDALIKE_BOT_RATE_PER_MINUTE,
      downloadTimeoutSeconds: v.SOUNDALIKE_DOWNLOAD_TIMEOUT_S,
      maxResults: v.SOUNDALIKE_BOT_MAX_RESULTS,
    },
    discord: v.DISCORD_TOKEN === undefined ? undefined : {
      token: v.DISCORD_TOKEN,
      applicationId: v.DISCORD_APPLICATION_ID,
      apiUrl: v.DISCORD_API_URL.replace(/\/+$/, ""),
      cdnHosts: v.DISCORD_CDN_HOSTS,
      ...(v.DISCORD_SHARDS === undefined ? {} : {
        shards: {
          count: v.DISCORD_SHARDS === "auto" ? "auto" as const : Number(v.DISCORD_SHARDS),
          ids: v.DISCORD_SHARD_IDS,
        },
      }),
    },
    slack: v.SLACK_BOT_TOKEN === undefined ? undefined : {
      botToken: v.SLACK_BOT_TOKEN,
      signingSecret: v.SLACK_SIGNING_SECRET,
      appToken: v.SLACK_APP_TOKEN,
      port: v.SLACK_PORT,
      apiUrl: v.SLACK_API_URL.endsWith("/") ? v.SLACK_API_URL : `${v.SLACK_API_URL}/`,
      fileHosts: v.SLACK_FILE_HOSTS,
      adminUserIds: v.SLACK_ADMIN_USER_IDS,
      allowWorkspaceAdmins: v.SLACK_ALLOW_WORKSPACE_ADMINS,
    },
    party: {
      idleMinutes: v.SOUNDALIKE_PARTY_IDLE_MINUTES,
      discordHosts: v.DISCORD_PARTY_HOSTS,
      slackHosts: v.SLACK_PARTY_HOSTS,
      ytDlpPath: v.SOUNDALIKE_YTDLP_PATH,
      linkHosts: v.SOUNDALIKE_LINK_HOSTS,
      linkPrivateHosts: v.SOUNDALIKE_LINK_PRIVATE_HOSTS,
      linkMaxSeconds: v.SOUNDALIKE_LINK_MAX_MINUTES * 60,
      linkTimeoutSeconds: v.SOUNDALIKE_LINK_TIMEOUT_S,
    },
    scale: {
      queue: v.SOUNDALIKE_QUEUE_URL === undefined ? undefined : {
        url: v.SOUNDALIKE_QUEUE_URL,
        prefix: v.SOUNDALIKE_QUEUE_PREFIX,
        workerConcurrency: v.SOUNDALIKE_WORKER_CONCURRENCY,
        attempts: v.SOUNDALIKE_JOB_ATTEMPTS,
        lockSeconds: v.SOUNDALIKE_JOB_LOCK_S,
        jobTimeoutSeconds: v.SOUNDALIKE_JOB_TIMEOUT_S,
      },
      opsPort: v.SOUNDALIKE_OPS_PORT,
      logFormat: v.LOG_FORMAT,
    },
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
