/**
 * The database connection: a real PostgreSQL server through postgres.js when a URL is given, otherwise
 * an embedded PGlite database under the data directory. This is the only module that imports
 * postgres.js, PGlite and the drizzle migrators; everything else works with {@linkcode Db}.
 * @module
 */

import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { CatalogUnreachableError, connectionFailureCode } from "./health.ts";
import * as schema from "./schema.ts";

/** The drizzle instance, typed by the schema, whichever driver is underneath. */
export type Orm = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Which engine a {@linkcode Db} talks to. */
export type DbKind = "postgres" | "pglite";

/** An open metadata database. */
export interface Db {
  /** `postgres` for a real server, `pglite` for the embedded database. */
  readonly kind: DbKind;
  /** Query builder typed by `core/db/schema.ts`. */
  readonly orm: Orm;
  /** Closes the connections (or the embedded database). Safe to call twice. */
  close(): Promise<void>;
}

/** Options for {@linkcode openDatabase}. */
export interface OpenDatabaseOptions {
  /** A `postgres://` URL: use that server. Without it, PGlite in `<dataDir>/pglite`. */
  url?: string | undefined;
  /**
   * The data directory: PGlite lives in `<dataDir>/pglite`, claimed by `<dataDir>/pglite.pid` while
   * open (one process at a time). `":memory:"` keeps an embedded database in memory (tests).
   */
  dataDir: string;
  /** Receives connection and migration messages. */
  logger: Logger;
  /**
   * Apply the migrations in `migrationsDir` at open.
   * @default true
   */
  migrate?: boolean;
  /**
   * Folder of drizzle-kit migrations.
   * @default the repository's `migrations/`
   */
  migrationsDir?: string;
  /**
   * Most connections postgres.js keeps open (at least 2).
   * @default 5
   */
  maxConnections?: number;
}

/** Advisory lock key that serialises migrations across processes on one server. */
const MIGRATION_LOCK_KEY = 727_274_001;

/** Per-database internals kept away from the public surface. */
interface Internals {
  /** Runs `fn` while holding a session-level advisory lock on one dedicated connection. */
  tryLock<T>(key: number, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }>;
  /** Keys held by this process (PGlite is one session, where advisory locks are re-entrant). */
  held: Set<number>;
}

const internals = new WeakMap<Db, Internals>();

/** The repository's `migrations/` folder, beside `core/`. */
export function defaultMigrationsDir(): string {
  return decodeURIComponent(new URL("../../migrations", import.meta.url).pathname);
}

/**
 * Opens the metadata database and applies pending migrations.
 *
 * @param opts Where the database is, a logger, and whether to migrate.
 * @returns An open {@linkcode Db}; close it when done.
 * @throws SoundalikeError `catalog_unreachable` ({@linkcode CatalogUnreachableError}) when the
 *   server does not answer; `bad_config` when it refuses the login or the database, or the data
 *   directory cannot be used.
 * @example
 * ```ts ignore
 * const db = await openDatabase({ dataDir: "data", logger });
 * try { console.log(db.kind); } finally { await db.close(); }
 * ```
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Db> {
  const migrationsFolder = opts.migrationsDir ?? defaultMigrationsDir();
  const db = opts.url ? await openPostgres(opts.url, opts) : await openPglite(opts.dataDir, opts.logger);
  if (opts.migrate ?? true) {
    try {
      await applyMigrations(db, migrationsFolder, opts.logger);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  return db;
}

async function openPostgres(url: string, opts: OpenDatabaseOptions): Promise<Db> {
  const { logger } = opts;
  const client = postgres(url, {
    // Locks hold one reserved connection while their work (and the migrator) use another.
    max: Math.max(2, opts.maxConnections ?? 5),
    connect_timeout: 10,
    // postgres.js waits before each reconnection, 3^n/100 s after n failures (up to 20 s): after an
    // outage the first request would hang that long, and requests during it wait as long before
    // they are told. Reconnections happen only when a query needs one, so a short wait is cheap.
    backoff: reconnectDelaySeconds,
    onnotice: (notice) => logger.debug("PostgreSQL notice", { message: notice.message }),
  });
  try {
    await client`select 1`;
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => {});
    // A server that does not answer is an outage (try again); a refused login or an unknown
    // database is a configuration to fix.
    const reason = connectionFailureCode(err);
    if (reason !== undefined) throw new CatalogUnreachableError(databaseHost(url), reason, { cause: err });
    throw new SoundalikeError(
      ErrorCode.BadConfig,
      `Cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const orm = drizzlePostgres(client, { schema });
  let closed = false;
  const db: Db = {
    kind: "postgres",
    orm,
    async close() {
      if (closed) return;
      closed = true;
      await client.end({ timeout: 5 });
    },
  };
  internals.set(db, {
    held: new Set(),
    async tryLock(key, fn) {
      // Session-level advisory locks belong to one connection: take, use and release it on the
      // same reserved connection, never through the pool.
      const conn = await client.reserve();
      try {
        const [row] = await conn`select pg_try_advisory_lock(${key}::bigint) as ok`;
        if (!row?.ok) return { ok: false };
        try {
          return { ok: true, value: await fn() };
        } finally {
          await conn`select pg_advisory_unlock(${key}::bigint)`;
        }
      } finally {
        conn.release();
      }
    },
  });
  logger.debug("Opened PostgreSQL", { url: redactUrl(url) });
  return db;
}

/**
 * Seconds postgres.js waits before reconnecting after `failures` failed connections: 50 ms,
 * doubling, at most 1 s.
 *
 * @param failures Failed connections in a row.
 * @returns The wait in seconds.
 * @example
 * ```ts
 * import { reconnectDelaySeconds } from "./client.ts";
 * console.assert(reconnectDelaySeconds(0) === 0.05 && reconnectDelaySeconds(30) === 1);
 * ```
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(0.05 * 2 ** failures, 1);
}

/** Shared buffers of the embedded database (PostgreSQL's default is 128MB). */
const PGLITE_SHARED_BUFFERS = "32MB";

async function openPglite(dataDir: string, logger: Logger): Promise<Db> {
  let client: PGlite;
  let release = () => Promise.resolve();
  if (dataDir === ":memory:") {
    client = new PGlite();
  } else {
    const root = dataDir.replace(/\/+$/, "") || "/";
    const dir = `${root}/pglite`;
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (err) {
      throw new SoundalikeError(
        ErrorCode.BadConfig,
        `Cannot create the embedded database folder ${dir}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    release = await claimDataDir(`${root}/pglite.pid`);
    try {
      // PostgreSQL's default 128 MB of shared buffers costs a serving process ~120 MB of resident
      // memory in WASM; a catalog's metadata needs far less.
      client = new PGlite(dir, { postgresqlconf: [`shared_buffers = ${PGLITE_SHARED_BUFFERS}`] });
      await client.waitReady;
    } catch (err) {
      await release();
      throw new SoundalikeError(
        ErrorCode.BadConfig,
        `Cannot open the embedded database in ${dir}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
  await client.waitReady;
  const orm = drizzlePglite(client, { schema });
  let closed = false;
  const db: Db = {
    kind: "pglite",
    orm,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await client.close();
      } finally {
        await release();
      }
    },
  };
  internals.set(db, {
    held: new Set(),
    async tryLock(key, fn) {
      const res = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1::bigint) as ok", [key]);
      if (!res.rows[0]?.ok) return { ok: false };
      try {
        return { ok: true, value: await fn() };
      } finally {
        await client.query("select pg_advisory_unlock($1::bigint)", [key]);
      }
    },
  });
  logger.debug("Opened embedded PGlite", { dataDir });
  return db;
}

/**
 * PGlite is one process's database: a second process (or a second open in this one) on the same
 * folder would corrupt it. A pid file claims the folder; one left by a dead process is taken over.
 *
 * @returns A function that gives the claim back.
 */
async function claimDataDir(pidFile: string): Promise<() => Promise<void>> {
  const mine = String(Deno.pid);
  const release = async () => {
    const owner = await Deno.readTextFile(pidFile).catch(() => "");
    if (owner.trim() === mine) await Deno.remove(pidFile).catch(() => {});
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await Deno.writeTextFile(pidFile, mine, { createNew: true });
      return release;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw new SoundalikeError(ErrorCode.BadConfig, `Cannot write ${pidFile}: ${errorMessage(err)}`, {
          cause: err,
        });
      }
    }
    const owner = (await Deno.readTextFile(pidFile).catch(() => "")).trim();
    if (owner !== "" && (owner === mine || await processAlive(Number(owner)))) {
      throw new SoundalikeError(
        ErrorCode.Busy,
        `The embedded database is in use by process ${owner}: wait for it to finish, or set DATABASE_URL ` +
          `to share a PostgreSQL server`,
      );
    }
    await Deno.remove(pidFile).catch(() => {});
  }
  throw new SoundalikeError(ErrorCode.Busy, `Cannot claim the embedded database (${pidFile}): try again`);
}

/** Whether a process runs (Linux `/proc`; elsewhere assumed alive, so a stale file must be removed). */
async function processAlive(pid: number): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  const procExists = await Deno.stat("/proc/self").then(() => true, () => false);
  if (!procExists) return true;
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}

async function applyMigrations(db: Db, migrationsFolder: string, logger: Logger): Promise<void> {
  try {
    await Deno.stat(`${migrationsFolder}/meta/_journal.json`);
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadConfig,
      `No migrations found in ${migrationsFolder}: run deno task db:generate`,
      { cause: err },
    );
  }
  if (db.kind === "pglite") {
    await migratePglite(db.orm as Parameters<typeof migratePglite>[0], { migrationsFolder });
  } else {
    // Two processes starting together would both try to create the tables: wait for the other.
    const conn = db.orm as Parameters<typeof migratePostgres>[0];
    await withMigrationLock(db, () => migratePostgres(conn, { migrationsFolder }));
  }
  logger.debug("Migrations applied", { migrationsFolder });
}

/** Serialises migrations between processes sharing a server (blocking lock on a reserved connection). */
async function withMigrationLock(db: Db, fn: () => Promise<void>): Promise<void> {
  const inner = internals.get(db);
  if (!inner) throw new Error("Unknown database handle");
  // Poll the non-blocking lock: a blocking pg_advisory_lock would need its own code path per driver.
  for (let attempt = 0;; attempt++) {
    const res = await inner.tryLock(MIGRATION_LOCK_KEY, fn);
    if (res.ok) return;
    if (attempt > 600) {
      throw new SoundalikeError(ErrorCode.Busy, "Another process has been migrating for a minute");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `fn` while holding a PostgreSQL advisory lock, so only one holder at a time (across
 * processes on a real server) does the work, for example a reindex.
 *
 * @param db The open database.
 * @param key A lock name (hashed to a 63-bit key) or a numeric key.
 * @param fn The work to do while holding the lock.
 * @returns What `fn` returns.
 * @throws SoundalikeError `Busy` when another holder has the lock.
 */
export async function withAdvisoryLock<T>(db: Db, key: string | number, fn: () => Promise<T>): Promise<T> {
  const inner = internals.get(db);
  if (!inner) throw new Error("withAdvisoryLock: not a database opened by openDatabase");
  const numericKey = typeof key === "number" ? key : lockKey(key);
  const busy = () =>
    new SoundalikeError(
      ErrorCode.Busy,
      `Another process is already running this (lock ${
        JSON.stringify(String(key))
      }): try again when it finishes`,
    );
  if (inner.held.has(numericKey)) throw busy();
  inner.held.add(numericKey);
  try {
    const res = await inner.tryLock(numericKey, fn);
    if (!res.ok) throw busy();
    return res.value;
  } finally {
    inner.held.delete(numericKey);
  }
}

/**
 * A stable non-negative 31-bit key for a lock name (FNV-1a), inside JavaScript's safe integers and
 * PostgreSQL's bigint.
 *
 * @param name The lock name.
 * @returns The numeric key.
 */
export function lockKey(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/**
 * The server a `DATABASE_URL` names, as `host:port`, for logs and messages (never the password).
 *
 * @param url A `postgres://` URL.
 * @returns E.g. `db.internal:5432`.
 * @example
 * ```ts
 * import { databaseHost } from "./client.ts";
 * console.assert(databaseHost("postgres://app:secret@db.internal/soundalike") === "db.internal:5432");
 * ```
 */
export function databaseHost(url: string): string {
  try {
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname) || u.searchParams.get("host") || "localhost";
    return `${host}:${u.port || "5432"}`;
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorMessage(err.errors[0]);
  return err instanceof Error ? err.message : String(err);
}
