import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import {
  createPostgresTestDatabase,
  postgresUnavailable,
  TEST_POSTGRES_URL,
  withTestDatabases,
} from "../../tests/db_helpers.ts";
import { isSoundalikeError } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { lockKey, openDatabase, withAdvisoryLock } from "./client.ts";
import { CatalogUnreachableError } from "./health.ts";
import { tracks } from "./schema.ts";

/** A promise with its resolver, to hold a lock open while another caller tries it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

withTestDatabases("openDatabase()", async ({ db, kind, t, url }) => {
  await t.step("applies the migrations: the schema's tables exist and are empty", async () => {
    const rows = await db.orm.select().from(tracks);
    assert.deepEqual(rows, []);
    assert.equal(db.kind, kind);
  });

  await t.step("withAdvisoryLock() returns the work's value and frees the lock", async () => {
    assert.equal(await withAdvisoryLock(db, "reindex", () => Promise.resolve(42)), 42);
    assert.equal(await withAdvisoryLock(db, "reindex", () => Promise.resolve(43)), 43);
  });

  await t.step("withAdvisoryLock() refuses a second holder in the same process with Busy", async () => {
    const held = gate();
    const first = withAdvisoryLock(db, "reindex", () => held.promise);
    await assert.rejects(
      withAdvisoryLock(db, "reindex", () => Promise.resolve()),
      (err) => isSoundalikeError(err, "busy"),
    );
    held.open();
    await first;
    await withAdvisoryLock(db, "reindex", () => Promise.resolve());
  });

  await t.step("withAdvisoryLock() frees the lock when the work throws", async () => {
    await assert.rejects(withAdvisoryLock(db, 7, () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await withAdvisoryLock(db, 7, () => Promise.resolve("again")), "again");
  });

  if (kind === "postgres" && url !== undefined) {
    await t.step("withAdvisoryLock() excludes another connection pool (another process)", async () => {
      const other = await openDatabase({ url, dataDir: ":memory:", logger: silentLogger });
      try {
        const held = gate();
        const first = withAdvisoryLock(db, "reindex", () => held.promise);
        // Let the first caller take its lock on its own reserved connection.
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (let i = 0;; i++) {
          assert.ok(i < 1000, "the first caller took its lock within 20 s");
          const rows = await other.orm.execute(sql`select count(*)::int as n from pg_locks
            where locktype = 'advisory' and objid = ${lockKey("reindex")} and granted
              and database = (select oid from pg_database where datname = current_database())`);
          if ((rows as unknown as { n: number }[])[0]?.n === 1) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await assert.rejects(
          withAdvisoryLock(other, "reindex", () => Promise.resolve()),
          (err) => isSoundalikeError(err, "busy"),
        );
        held.open();
        await first;
        assert.equal(await withAdvisoryLock(other, "reindex", () => Promise.resolve("free")), "free");
      } finally {
        await other.close();
      }
    });

    await t.step("two pools opening a fresh database at once migrate it once", async () => {
      const fresh = await createPostgresTestDatabase();
      try {
        const both = await Promise.allSettled(
          [0, 1].map(() => openDatabase({ url: fresh.url, dataDir: ":memory:", logger: silentLogger })),
        );
        for (const one of both) if (one.status === "fulfilled") await one.value.close();
        for (const one of both) {
          assert.equal(one.status, "fulfilled", String((one as PromiseRejectedResult).reason));
        }
      } finally {
        await fresh.drop();
      }
    });

    await t.step("a second open of a migrated database migrates nothing and works", async () => {
      const again = await openDatabase({ url, dataDir: ":memory:", logger: silentLogger });
      try {
        assert.deepEqual(await again.orm.select().from(tracks), []);
      } finally {
        await again.close();
      }
    });
  }
});

Deno.test("openDatabase() keeps PGlite data under <dataDir>/pglite across opens", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_db_" });
  try {
    const db = await openDatabase({ dataDir: dir, logger: silentLogger });
    await db.orm.insert(tracks).values({
      source: "folder",
      sourceId: "a.mp3",
      title: "a",
      audioPath: "a.mp3",
      catalogRoot: "/x",
    });
    await db.close();
    await db.close();
    assert.ok((await Deno.stat(`${dir}/pglite`)).isDirectory);
    const reopened = await openDatabase({ dataDir: dir, logger: silentLogger });
    try {
      const rows = await reopened.orm.select({ title: tracks.title }).from(tracks);
      assert.deepEqual(rows, [{ title: "a" }]);
    } finally {
      await reopened.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openDatabase() refuses a PGlite folder another open holds, and takes over a stale claim", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_db_" });
  try {
    const db = await openDatabase({ dataDir: dir, logger: silentLogger, migrate: false });
    const second = await openDatabase({ dataDir: dir, logger: silentLogger, migrate: false })
      .then(() => null, (e: unknown) => e);
    assert.ok(isSoundalikeError(second, "busy"), String(second));
    assert.match(second.message, /DATABASE_URL/);
    await db.close();
    await assert.rejects(Deno.stat(`${dir}/pglite.pid`), Deno.errors.NotFound);
    // A claim left by a process that no longer exists.
    await Deno.writeTextFile(`${dir}/pglite.pid`, "2147483646");
    const again = await openDatabase({ dataDir: dir, logger: silentLogger, migrate: false });
    assert.equal(await Deno.readTextFile(`${dir}/pglite.pid`), String(Deno.pid));
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openDatabase() reports a server that does not answer as catalog_unreachable, naming its host, not the password", async () => {
  const err = await openDatabase({
    url: "postgres://someone:secret@127.0.0.1:1/nope",
    dataDir: ":memory:",
    logger: silentLogger,
  }).then(() => null, (e: unknown) => e);
  assert.ok(
    err instanceof CatalogUnreachableError && isSoundalikeError(err, "catalog_unreachable"),
    String(err),
  );
  assert.equal(err.host, "127.0.0.1:1");
  assert.equal(err.reason, "ECONNREFUSED");
  assert.match(
    err.operatorMessage,
    /^The catalog database at 127\.0\.0\.1:1 does not answer \(ECONNREFUSED\)/,
  );
  assert.doesNotMatch(`${err.message} ${err.operatorMessage}`, /secret/);
});

Deno.test({
  name: "openDatabase() reports a database the server does not have as BadConfig without the password",
  ignore: postgresUnavailable !== null,
  async fn() {
    const url = new URL(TEST_POSTGRES_URL);
    url.password = "secret";
    url.pathname = "/soundalike_no_such_database";
    const err = await openDatabase({ url: url.href, dataDir: ":memory:", logger: silentLogger })
      .then(() => null, (e: unknown) => e);
    assert.ok(isSoundalikeError(err, "bad_config"), String(err));
    assert.match(err.message, /^Cannot connect to PostgreSQL at .*soundalike_no_such_database/);
    assert.doesNotMatch(err.message, /secret/);
  },
});

Deno.test("openDatabase() names the fix when the migrations folder is missing", async () => {
  const err = await openDatabase({ dataDir: ":memory:", logger: silentLogger, migrationsDir: "/nonexistent" })
    .then(() => null, (e: unknown) => e);
  assert.ok(isSoundalikeError(err, "bad_config"), String(err));
  assert.match(err.message, /db:generate/);
});

Deno.test("lockKey() is stable and non-negative", () => {
  assert.equal(lockKey("reindex"), lockKey("reindex"));
  assert.notEqual(lockKey("reindex"), lockKey("other"));
  for (const name of ["", "a", "reindex", "ünïcode"]) {
    const k = lockKey(name);
    assert.ok(Number.isInteger(k) && k >= 0 && k <= 0x7fffffff);
  }
  // Keep the import used when the server is absent (the postgres-only steps need it).
  assert.ok(postgresUnavailable === null || typeof postgresUnavailable === "string");
});
