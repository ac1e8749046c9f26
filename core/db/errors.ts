/**
 * Database failures as one plain sentence: the server's own short message (never the query and
 * its parameters, which drizzle puts in its error message) and what to do about it.
 * Works for postgres.js and PGlite errors alike (both carry PostgreSQL's SQLSTATE `code`).
 * @module
 */

import { ErrorCode, isSoundalikeError, SoundalikeError } from "../errors.ts";
import { connectionFailureCode } from "./health.ts";

/** PostgreSQL's report of a failure, found in an error or its causes. */
export interface PgFailure {
  /** SQLSTATE, e.g. `54000`. */
  code: string | undefined;
  /** The server's message (one line), or the driver's for a connection failure. */
  message: string;
}

/**
 * The PostgreSQL failure behind an error: the first error in its `cause` chain that carries a
 * SQLSTATE, else the innermost message (drizzle's "Failed query: ..." wrapper is skipped).
 *
 * @param err Anything thrown by a query.
 * @returns The code and the server's message.
 */
export function pgFailure(err: unknown): PgFailure {
  let innermost: unknown = err;
  for (let e: unknown = err, depth = 0; e instanceof Object && depth < 10; depth++) {
    const code = (e as { code?: unknown }).code;
    const message = (e as { message?: unknown }).message;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof message === "string") {
      return { code, message: firstLine(message) };
    }
    innermost = e;
    e = (e as { cause?: unknown }).cause;
  }
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  return {
    code: undefined,
    message: firstLine(message.replace(/^Failed query:[\s\S]*/, "the query failed")),
  };
}

/**
 * Whether the database refused a write because of the data in it (SQLSTATE classes 22 data
 * exception, 23 integrity constraint, 54 program limit such as an index entry too large), so that
 * writing the other rows one by one is worth it; connection and server failures are not.
 *
 * @param err What a write threw.
 * @returns `true` for a failure caused by the row's values.
 */
export function isRowFailure(err: unknown): boolean {
  const code = pgFailure(err).code;
  return code !== undefined && ["22", "23", "54"].includes(code.slice(0, 2));
}

/**
 * Why the database refused one row, and the fix, for a skipped-entry reason.
 *
 * @param err What storing the row threw.
 * @returns A clause such as "the database refused it (index row size 2912 exceeds ...): shorten
 *   the file's path or its tags".
 */
export function rowFailureReason(err: unknown): string {
  const { code, message } = pgFailure(err);
  let fix = "fix the row or file and run the reindex again";
  if (code === "54000" || code === "22001") fix = "a value is too long: shorten the file's path or its tags";
  else if (code === "22021" || code === "22P05") {
    fix = "it holds characters the database cannot store: fix the file's tags or name";
  }
  return `the database refused it (${message}): ${fix}`;
}

/**
 * Runs a database step, turning a failure into one sentence ({@linkcode ErrorCode.DatabaseError}):
 * what could not be done, the server's message and the fix. Domain errors pass through, and so
 * does a connection failure (the server went away: an outage, not this step's fault).
 *
 * @param what The step, e.g. "store the catalog's tracks".
 * @param fn The step.
 * @returns What `fn` returns.
 * @throws {SoundalikeError} `database_error`.
 */
export async function databaseStep<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isSoundalikeError(err) || (err instanceof DOMException && err.name === "AbortError")) throw err;
    // A server that stopped answering is an outage, answered as such by the app's guard.
    if (connectionFailureCode(err) !== undefined) throw err;
    const { message } = pgFailure(err);
    throw new SoundalikeError(
      ErrorCode.DatabaseError,
      `Could not ${what}: ${message}: check that the database is running and reachable (DATABASE_URL), then ` +
        "run the reindex again; the current index keeps serving",
      { cause: err },
    );
  }
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
