/**
 * Test helper: run one suite against both backends, each time on a fresh database. PGlite runs in
 * memory; PostgreSQL gets a new database with a random name on the server at
 * `SOUNDALIKE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), dropped
 * afterwards. When the server is unreachable that variant is skipped with a printed reason, unless
 * `SOUNDALIKE_REQUIRE_POSTGRES=1`, when it fails instead.
 * @module
 */

import { sql } from "drizzle-orm";
import { type Db, type DbKind, openDatabase } from "../core/db/client.ts";
import { silentLogger } from "../core/logger.ts";

/** The server the PostgreSQL variant uses (its database is only used to create and drop others). */
export const TEST_POSTGRES_URL = Deno.env.get("SOUNDALIKE_TEST_POSTGRES_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";

const REQUIRE_POSTGRES = Deno.env.get("SOUNDALIKE_REQUIRE_POSTGRES") === "1";

/** Why the server cannot be used, or `null` when it answers. Probed once per test module. */
export const postgresUnavailable: string | null = await probe();

async function probe(): Promise<string | null> {
  try {
    const admin = await openDatabase({
      url: TEST_POSTGRES_URL,
      dataDir: ":memory:",
      logger: silentLogger,
      migrate: false,
    });
    await admin.close();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

let warned = false;

/** A fresh database on the test server, and how to drop it. */
export async function createPostgresTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `soundalike_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = await openDatabase({
    url: TEST_POSTGRES_URL,
    dataDir: ":memory:",
    logger: silentLogger,
    migrate: false,
  });
  try {
    await admin.orm.execute(sql.raw(`create database ${name}`));
  } finally {
    await admin.close();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const again = await openDatabase({
        url: TEST_POSTGRES_URL,
        dataDir: ":memory:",
        logger: silentLogger,
        migrate: false,
      });
      try {
        await again.orm.execute(sql.raw(`drop database if exists ${name} with (force)`));
      } finally {
        await again.close();
      }
    },
  };
}

/** What a suite receives. */
export interface DbTestContext {
  db: Db;
  kind: DbKind;
  t: Deno.TestContext;
  /** The server URL of this database (PostgreSQL only), to open more connections to it. */
  url: string | undefined;
}

/**
 * Registers `name [pglite]` and `name [postgres]`, each running `fn` on a fresh, migrated database.
 *
 * @param name The suite name.
 * @param fn The suite; use `t.step` for its cases.
 */
export function withTestDatabases(name: string, fn: (ctx: DbTestContext) => Promise<void>): void {
  registerVariants(name, {
    pglite: async (t) => {
      const db = await openDatabase({ dataDir: ":memory:", logger: silentLogger });
      try {
        await fn({ db, kind: "pglite", t, url: undefined });
      } finally {
        await db.close();
      }
    },
    postgres: async (t, url) => {
      const db = await openDatabase({ url, dataDir: ":memory:", logger: silentLogger });
      try {
        await fn({ db, kind: "postgres", t, url });
      } finally {
        await db.close();
      }
    },
  });
}

/** What a suite of {@linkcode withTestDatabaseUrls} receives. */
export interface DbUrlTestContext {
  kind: DbKind;
  t: Deno.TestContext;
  /**
   * `DATABASE_URL` for the application: a fresh database on the test server, or `undefined` for
   * PGlite (the application then opens its own in its data directory).
   */
  databaseUrl: string | undefined;
}

/**
 * Registers `name [pglite]` and `name [postgres]` for code that opens the database itself (the
 * application, a CLI): the PostgreSQL variant gets the URL of a fresh database, dropped afterwards.
 *
 * @param name The suite name.
 * @param fn The suite.
 * @param opts Options for both `Deno.test`s (e.g. relaxed sanitizers).
 */
export function withTestDatabaseUrls(
  name: string,
  fn: (ctx: DbUrlTestContext) => Promise<void>,
  opts: Pick<Deno.TestDefinition, "sanitizeOps" | "sanitizeResources"> = {},
): void {
  registerVariants(name, {
    pglite: (t) => fn({ kind: "pglite", t, databaseUrl: undefined }),
    postgres: (t, url) => fn({ kind: "postgres", t, databaseUrl: url }),
  }, opts);
}

function registerVariants(
  name: string,
  run: {
    pglite: (t: Deno.TestContext) => Promise<void>;
    postgres: (t: Deno.TestContext, url: string) => Promise<void>;
  },
  opts: Pick<Deno.TestDefinition, "sanitizeOps" | "sanitizeResources"> = {},
): void {
  Deno.test({ ...opts, name: `${name} [pglite]`, fn: (t) => run.pglite(t) });

  const skip = postgresUnavailable !== null && !REQUIRE_POSTGRES;
  if (skip && !warned) {
    warned = true;
    console.log(`Skipping PostgreSQL variants: ${postgresUnavailable}`);
  }
  Deno.test({
    ...opts,
    name: `${name} [postgres]`,
    ignore: skip,
    async fn(t) {
      if (postgresUnavailable !== null) {
        throw new Error(
          `SOUNDALIKE_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: ${postgresUnavailable}`,
        );
      }
      const fresh = await createPostgresTestDatabase();
      try {
        await run.postgres(t, fresh.url);
      } finally {
        await fresh.drop();
      }
    },
  });
}
