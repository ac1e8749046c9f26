/**
 * The one-process bot with `SOUNDALIKE_OPS_PORT`: `/healthz` says it is not ready while it has no
 * index to search (it answers once one is published), and `/metrics` carries its role.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBot } from "../bot/bot.ts";
import { parseConfig } from "../core/config.ts";
import { silentLogger } from "../core/logger.ts";

Deno.test({
  name: "bot /healthz: 503 without an index (one process searches itself); /metrics labelled role=bot",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "soundalike_ops_" });
    const config = parseConfig({
      SOUNDALIKE_DATA_DIR: dataDir,
      SOUNDALIKE_MODELS_DIR: join(Deno.cwd(), "models"),
      ORT_PROVIDER: "cpu",
      ORT_THREADS: "1",
      SOUNDALIKE_OPS_PORT: "0",
    }, { cwd: Deno.cwd() });
    const bot = await startBot({ config, logger: silentLogger });
    try {
      const health = await fetch(`http://127.0.0.1:${bot.ops!.port}/healthz`);
      assert.equal(health.status, 503);
      assert.deepEqual(await health.json(), { status: "not ready", role: "bot", problem: "no index yet" });
      const metrics = await (await fetch(`http://127.0.0.1:${bot.ops!.port}/metrics`)).text();
      assert.match(metrics, /# TYPE soundalike_answers_total counter/);
    } finally {
      await bot.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
