/**
 * The warm bot's life: it finishes accepted work before stopping, and it serves an index version
 * published by a reindex in another process (PostgreSQL lets two processes share the catalog).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBot } from "../bot/bot.ts";
import { checkSimilar, runSimilar } from "../bot/handlers/similar.ts";
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { createMemoryLogger, silentLogger } from "../core/logger.ts";
import { openTestCatalog, writeFixtureAudio, writeFixtureCatalog } from "./catalog_fixture.ts";
import { createPostgresTestDatabase, postgresUnavailable } from "./db_helpers.ts";

const requester = { platform: "console" as const, userId: "u", name: "u", isAdmin: true };

Deno.test("startBot().stop() lets accepted clips finish, then refuses new ones", async () => {
  const catalog = await openTestCatalog({ tracks: 6 });
  const bot = await startBot({ config: catalog.app.config, logger: silentLogger, app: catalog.app });
  try {
    const query = join(catalog.dataDir, "q.wav");
    await writeFixtureAudio(query, 30);
    const clip = {
      name: "q.wav",
      size: undefined,
      contentType: undefined,
      location: { kind: "path" as const, path: query },
    };
    const checked = checkSimilar(bot.services, { requester, clip });
    assert.equal(checked.kind, "checked");
    const running = runSimilar(bot.services, checked as Exclude<typeof checked, { kind: "notice" }>);
    const stopped = bot.stop();
    const answer = await running;
    assert.equal(answer.kind, "similar", "the accepted clip was answered during shutdown");
    await stopped;
    const late = checkSimilar(bot.services, { requester, clip });
    assert.equal(late.kind, "notice");
    assert.match((late as { text: string }).text, /restarting/);
  } finally {
    await catalog.close();
  }
});

Deno.test({
  name: "the bot serves a new index version published by another process, without a restart",
  ignore: postgresUnavailable !== null && Deno.env.get("SOUNDALIKE_REQUIRE_POSTGRES") !== "1",
  async fn() {
    const db = await createPostgresTestDatabase();
    const root = await Deno.makeTempDir({ prefix: "soundalike_swap_" });
    const catalogDir = join(root, "catalog");
    await Deno.mkdir(catalogDir);
    await writeFixtureCatalog(catalogDir, 5);
    const env = {
      DATABASE_URL: db.url,
      SOUNDALIKE_DATA_DIR: join(root, "data"),
      ORT_PROVIDER: "cpu",
      ORT_THREADS: "1",
    };
    const config = parseConfig(env, { cwd: Deno.cwd() });
    const other = createApp(config, silentLogger);
    await other.update(catalogDir);
    const { logger, records } = createMemoryLogger();
    const bot = await startBot({ config, logger, watchIntervalMs: 50 });
    try {
      assert.ok(records.some((r) => /ready: 5 tracks, index v1/.test(r.msg)));
      await writeFixtureCatalog(catalogDir, 7);
      await other.update(catalogDir);
      const deadline = performance.now() + 20_000;
      while (!records.some((r) => /Now serving index v2 \(7 tracks\)/.test(r.msg))) {
        assert.ok(performance.now() < deadline, "the bot noticed the new version");
        await new Promise((r) => setTimeout(r, 50));
      }
      const result = await bot.app.similar(join(catalogDir, "track_07.wav"), { k: 6 });
      assert.equal(result.indexVersion, 2);
      assert.equal(result.recommendations.length, 6, "the two new tracks are searchable");
    } finally {
      await bot.stop();
      await other.close();
      await db.drop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
