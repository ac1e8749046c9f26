/**
 * A small levelled logger that is passed to whatever needs one; nothing else writes to the console
 * outside entry points.
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** What modules receive: one method per level, each taking a message and optional context. */
export interface Logger {
  debug(msg: string, ctx?: Record<string, unknown>): void;
  info(msg: string, ctx?: Record<string, unknown>): void;
  warn(msg: string, ctx?: Record<string, unknown>): void;
  error(msg: string, ctx?: Record<string, unknown>): void;
}

/** One recorded log line, as kept by {@linkcode createMemoryLogger}. */
export interface LogRecord {
  level: Exclude<LogLevel, "silent">;
  msg: string;
  ctx?: Record<string, unknown>;
}

function format(level: string, msg: string, ctx?: Record<string, unknown>): string {
  const extra = ctx && Object.keys(ctx).length > 0 ? " " + JSON.stringify(ctx, replacer) : "";
  return `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${extra}`;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, cause: value.cause };
  return value;
}

/** Options of {@linkcode createConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** `text`: one readable line; `json`: one JSON object a line (log collectors). @default "text" */
  format?: "text" | "json";
  /** Fields every line carries, such as the process's `role` and `shards`. */
  fields?: Record<string, unknown>;
}

/**
 * One JSON log line: time, level, message, the process's fields, then the context.
 *
 * @param level The level.
 * @param msg The message.
 * @param fields The process's fields.
 * @param ctx The context.
 * @returns The line, without a newline.
 * @example
 * ```ts
 * import { formatJson } from "./logger.ts";
 * const line = JSON.parse(formatJson("info", "ready", { role: "worker" }, { jobs: 2 }));
 * console.assert(line.level === "info" && line.role === "worker" && line.jobs === 2);
 * ```
 */
export function formatJson(
  level: string,
  msg: string,
  fields: Record<string, unknown> = {},
  ctx: Record<string, unknown> = {},
): string {
  return JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields, ...ctx }, replacer);
}

/**
 * A logger writing to standard error, so standard output stays clean for results (`--json`).
 *
 * @param level The least severe level that is written.
 * @param options Line format and the fields every line carries.
 * @default level "info"
 * @returns A {@linkcode Logger}.
 */
export function createConsoleLogger(level: LogLevel = "info", options: ConsoleLoggerOptions = {}): Logger {
  const min = ORDER[level];
  const fields = options.fields ?? {};
  const line = options.format === "json"
    ? (lvl: string, msg: string, ctx?: Record<string, unknown>) => formatJson(lvl, msg, fields, ctx)
    : (lvl: string, msg: string, ctx?: Record<string, unknown>) =>
      format(lvl, msg, Object.keys(fields).length ? { ...fields, ...ctx } : ctx);
  const write = (lvl: Exclude<LogLevel, "silent">) => (msg: string, ctx?: Record<string, unknown>) => {
    if (ORDER[lvl] >= min) console.error(line(lvl, msg, ctx));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/**
 * A logger that keeps its records in memory, for tests.
 *
 * @returns The logger and the array it appends to.
 * @example
 * ```ts
 * import { createMemoryLogger } from "./logger.ts";
 * const { logger, records } = createMemoryLogger();
 * logger.info("hello");
 * console.assert(records[0]?.msg === "hello");
 * ```
 */
export function createMemoryLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const push = (level: LogRecord["level"]) => (msg: string, ctx?: Record<string, unknown>) => {
    records.push(ctx === undefined ? { level, msg } : { level, msg, ctx });
  };
  return {
    logger: { debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") },
    records,
  };
}

/** A logger that drops everything. */
const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
