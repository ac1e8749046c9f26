/**
 * The catalog database going away and coming back. A query that cannot reach the server (refused,
 * reset, timed out, the server shutting down) becomes one kind answer for users,
 * {@linkcode CatalogUnreachableError}, instead of an internal error whose log carries the SQL; the
 * outage is logged once (the server's host and the error code, never the URL's password), and
 * once more when the database answers again. Nothing is kept open or retried here: postgres.js
 * reconnects by itself, so the first request after the outage simply works.
 * @module
 */
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../errors.ts";
import type { Logger } from "../logger.ts";

/** Driver codes of a connection that could not be made or was lost (postgres.js, Node's sockets). */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
]);

/**
 * Why an error means the server could not be reached: the first connection-failure code in its
 * `cause` chain (a driver code such as `ECONNREFUSED`, or SQLSTATE class 08 "connection
 * exception" and 57P01-57P03 "the server is shutting down or starting"), else `undefined`.
 * `CONNECTION_ENDED` (this process closed the pool) is not an outage.
 *
 * @param err What a query or a connection attempt threw.
 * @returns The code, e.g. `ECONNREFUSED` or `57P01`, or `undefined`.
 * @example
 * ```ts
 * import { connectionFailureCode } from "./health.ts";
 * const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
 * console.assert(connectionFailureCode(new Error("Failed query: select 1", { cause: refused })) === "ECONNREFUSED");
 * console.assert(connectionFailureCode(Object.assign(new Error("duplicate key"), { code: "23505" })) === undefined);
 * ```
 */
export function connectionFailureCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): string | undefined => {
    if (!(e instanceof Object) || depth > 10 || seen.has(e)) return undefined;
    seen.add(e);
    if (e instanceof CatalogUnreachableError) return e.reason;
    // Another domain error was already told apart (databaseStep passes connection failures through
    // raw): a queue that is down, say, carries its own ECONNREFUSED and is not the database.
    if (e instanceof SoundalikeError) return undefined;
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === "string" && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$|^57P0[123]$/.test(code))
    ) {
      return code;
    }
    if (e instanceof AggregateError) {
      for (const inner of e.errors) {
        const found = visit(inner, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return visit((e as { cause?: unknown }).cause, depth + 1);
  };
  return visit(err, 0);
}

/**
 * The catalog's database does not answer. `message` is for chat users (no host, nothing to
 * fix); {@linkcode CatalogUnreachableError.operatorMessage} is for the operator at a terminal.
 */
export class CatalogUnreachableError extends SoundalikeError {
  /** `host:port` of the server (never the URL with its password). */
  readonly host: string;
  /** The connection failure's code, e.g. `ECONNREFUSED`. */
  readonly reason: string;

  /**
   * @param host The server's `host:port`.
   * @param reason The failure's code.
   * @param options `cause`: what the driver threw.
   */
  constructor(host: string, reason: string, options?: { cause?: unknown }) {
    super(
      ErrorCode.CatalogUnreachable,
      "The catalog is unreachable right now (its database does not answer): try again in a minute",
      options,
    );
    this.name = "CatalogUnreachableError";
    this.host = host;
    this.reason = reason;
  }

  /** One sentence for the command line: which server, why, and what to do. */
  get operatorMessage(): string {
    return `The catalog database at ${this.host} does not answer (${this.reason}): start it or check ` +
      "DATABASE_URL, then try again";
  }
}

/** Whether the catalog's database answers, as the last requests found. */
export type DatabaseState =
  | { reachable: true }
  | { reachable: false; since: Date; host: string; reason: string };

/** Watches requests to one database; see the module's description. */
export interface DatabaseHealth {
  /**
   * Runs a request that uses the database. A connection failure marks the outage (logged once)
   * and is thrown as a {@linkcode CatalogUnreachableError}; other errors pass unchanged. A request
   * that succeeds during an outage has the server pinged: if it answers, the outage is over.
   */
  guard<T>(fn: () => Promise<T>): Promise<T>;
  /** The state now. */
  state(): DatabaseState;
}

/** Options of {@linkcode createDatabaseHealth}. */
export interface DatabaseHealthOptions {
  /** The server's `host:port`, as logs and the operator's message name it. */
  host: string;
  /** Receives the outage line (warn) and the recovery line (info). */
  logger: Logger;
  /** A cheap query (`select 1`); resolves when the server answers. */
  ping: () => Promise<void>;
  /** The clock. @default () => new Date() */
  now?: () => Date;
}

/**
 * Creates the watcher for one database.
 *
 * @param options The server's host, a logger and a ping.
 * @returns The {@linkcode DatabaseHealth}.
 * @example
 * ```ts
 * import { createDatabaseHealth } from "./health.ts";
 * import { silentLogger } from "../logger.ts";
 * const health = createDatabaseHealth({ host: "db:5432", logger: silentLogger, ping: () => Promise.resolve() });
 * const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
 * await health.guard(() => Promise.reject(refused)).catch((e) => console.assert(e.code === "catalog_unreachable"));
 * console.assert(!health.state().reachable);
 * ```
 */
export function createDatabaseHealth(options: DatabaseHealthOptions): DatabaseHealth {
  const { host, logger } = options;
  const now = options.now ?? (() => new Date());
  let state: DatabaseState = { reachable: true };
  let pinging: Promise<void> | undefined;

  const wentDown = (reason: string) => {
    if (!state.reachable) return;
    state = { reachable: false, since: now(), host, reason };
    logger.warn(`The catalog database at ${host} does not answer: requests are refused until it is back`, {
      host,
      code: reason,
    });
  };
  const cameBack = () => {
    if (state.reachable) return;
    const seconds = Math.round((now().getTime() - state.since.getTime()) / 1000);
    state = { reachable: true };
    logger.info(`The catalog database at ${host} answers again after ${seconds} s`, { host });
  };
  /** One ping at a time, however many requests succeed together during an outage. */
  const recheck = () =>
    pinging ??= options.ping().then(cameBack, () => {}).finally(() => (pinging = undefined));

  return {
    async guard(fn) {
      let value;
      try {
        value = await fn();
      } catch (err) {
        const reason = connectionFailureCode(err);
        if (reason === undefined) throw err;
        wentDown(reason);
        if (err instanceof CatalogUnreachableError) throw err;
        // A domain error wrapping the failure (a catalog update's step) is answered the same way.
        throw new CatalogUnreachableError(host, reason, { cause: isSoundalikeError(err) ? err.cause : err });
      }
      if (!state.reachable) await recheck();
      return value;
    },
    state: () => state,
  };
}
