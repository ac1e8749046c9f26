import assert from "node:assert/strict";
import { parseConfig } from "../../core/config.ts";
import { silentLogger } from "../../core/logger.ts";
import { redisUnavailable, startTestRedis } from "../../tests/redis_server.ts";
import { openJobClient } from "./engine.ts";
import { QueueUnavailable } from "./errors.ts";
import { sharedAdmission } from "./limits.ts";

Deno.test({
  name:
    "sharedAdmission(): two chat processes share each user's quota and the waiting bound; Redis down throws",
  ignore: redisUnavailable !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startTestRedis();
    const config = parseConfig({
      DATABASE_URL: "postgres://localhost/x",
      SOUNDALIKE_QUEUE_URL: redis.url,
      SOUNDALIKE_QUEUE_PREFIX: "limits",
    }).scale.queue!;
    // Two clients, as two shard processes would have.
    const clients = [openJobClient(config, silentLogger), openJobClient(config, silentLogger)];
    try {
      for (let i = 0; i < 500 && !clients.every((c) => c.connected); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      let waiting = 0;
      const [a, b] = clients.map((c) =>
        sharedAdmission({
          redis: c.redis,
          prefix: "limits",
          perUser: 2,
          capacity: 2,
          waiting: () => Promise.resolve(waiting),
        })
      );
      assert.deepEqual(await a!.take("discord:1"), { ok: true });
      assert.deepEqual(await b!.take("discord:1"), { ok: true });
      const third = await a!.take("discord:1");
      assert.equal(third.ok, false, "the quota is shared: a second shard does not double it");
      assert.ok(!third.ok && third.retryAfterSeconds >= 1 && third.retryAfterSeconds <= 60);
      assert.deepEqual(await b!.take("discord:2"), { ok: true }, "another user has their own");
      assert.equal(await a!.backlogFull(), false);
      waiting = 2;
      assert.equal(await b!.backlogFull(), true);
      await redis.stop();
      await assert.rejects(a!.take("discord:3"), QueueUnavailable);
    } finally {
      for (const c of clients) await c.close();
      await redis.close();
    }
  },
});
