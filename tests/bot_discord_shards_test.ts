/**
 * Discord sharding with discord.js's own gateway shards: two bot processes (here two bots in one
 * test process, each with its own discord.js client) with `DISCORD_SHARDS=2` and shard ids 0 and 1
 * against the local fake gateway, which routes every guild's events to its shard as Discord does.
 * Each receives only its servers' interactions and answers them; `DISCORD_SHARDS=2` without ids
 * runs both shards in one process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Events, type Interaction } from "discord.js";
import { processLabels, type RunningBot, startBot } from "../bot/bot.ts";
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { createMemoryLogger } from "../core/logger.ts";
import {
  GUILD_ID,
  member,
  type RestCall,
  shardOf,
  snowflake,
  startDiscordFake,
} from "./fakes/discord_fake.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

/** A guild id on the other shard of two than the fake's own guild. */
function otherGuild(): string {
  for (let id = BigInt(GUILD_ID) + (1n << 22n);; id += 1n << 22n) {
    if (shardOf(String(id), 2) !== shardOf(GUILD_ID, 2)) return String(id);
  }
}

const help = (guildId: string) => ({
  type: 2,
  guild_id: guildId,
  channel_id: String(BigInt(guildId) + 1n),
  member: member("0"),
  data: { id: snowflake(), name: "help", type: 1 },
});

const answered = (token: string) => (c: RestCall) =>
  c.path.includes(`/${token}/`) && c.path.endsWith("/callback");

Deno.test({
  name:
    "Discord shards: two processes with DISCORD_SHARDS=2 each get only their servers' interactions and answer them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const guildB = otherGuild();
    const guildA = GUILD_ID;
    const discord = startDiscordFake({ shards: 2, guilds: [guildB] });
    const dataDir = await Deno.makeTempDir({ prefix: "soundalike_shards_" });
    const { logger, records } = createMemoryLogger();
    const env = (extra: Record<string, string>) =>
      parseConfig({
        SOUNDALIKE_DATA_DIR: dataDir,
        SOUNDALIKE_MODELS_DIR: join(Deno.cwd(), "models"),
        ORT_PROVIDER: "cpu",
        ORT_THREADS: "1",
        DISCORD_TOKEN: TOKEN,
        DISCORD_API_URL: discord.apiUrl,
        ...extra,
      }, { cwd: Deno.cwd() });
    const app = createApp(env({}), logger);
    const bots: RunningBot[] = [];
    try {
      const seen: Record<string, string[]> = { 0: [], 1: [] };
      for (const id of [0, 1]) {
        const config = env({ DISCORD_SHARDS: "2", DISCORD_SHARD_IDS: String(id) });
        const bot = await startBot({ config, logger, app });
        bots.push(bot);
        bot.discord!.client.on(
          Events.InteractionCreate,
          (i: Interaction) => seen[id]!.push(i.guildId ?? "dm"),
        );
      }
      await discord.shardsReady(2);

      await t.step("each process identified as its own shard of two", () => {
        assert.deepEqual(discord.identified.map(([id, n]) => `${id}/${n}`).sort(), ["0/2", "1/2"]);
      });

      await t.step("an interaction reaches the shard of its server only, and is answered", async () => {
        const a = discord.interact(help(guildA));
        const b = discord.interact(help(guildB));
        await discord.waitFor(answered(a.token));
        await discord.waitFor(answered(b.token));
        const shardA = shardOf(guildA, 2);
        const shardB = shardOf(guildB, 2);
        assert.notEqual(shardA, shardB);
        assert.deepEqual(seen[shardA], [guildA]);
        assert.deepEqual(seen[shardB], [guildB]);
        assert.deepEqual(
          discord.dispatched.filter((d) => d.type === "INTERACTION_CREATE").map((d) => d.shard),
          [
            shardA,
            shardB,
          ],
        );
        // Exactly one answer each: neither process answered the other's interaction.
        assert.equal(discord.calls.filter(answered(a.token)).length, 1);
        assert.equal(discord.calls.filter(answered(b.token)).length, 1);
      });
    } finally {
      for (const bot of bots) await bot.stop();
      await app.close();
      await discord.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
    assert.deepEqual(records.filter((r) => r.level === "error"), [], "no crash was logged");
  },
});

Deno.test({
  name: "Discord shards: DISCORD_SHARDS=auto takes Discord's recommended count and runs every shard here",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const guildB = otherGuild();
    const discord = startDiscordFake({ shards: 2, guilds: [guildB] });
    const dataDir = await Deno.makeTempDir({ prefix: "soundalike_shards_" });
    const { logger } = createMemoryLogger();
    const config = parseConfig({
      SOUNDALIKE_DATA_DIR: dataDir,
      SOUNDALIKE_MODELS_DIR: join(Deno.cwd(), "models"),
      ORT_PROVIDER: "cpu",
      ORT_THREADS: "1",
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_SHARDS: "auto",
    }, { cwd: Deno.cwd() });
    const bot = await startBot({ config, logger });
    try {
      await discord.shardsReady(2);
      assert.deepEqual(discord.identified.map(([id, n]) => `${id}/${n}`).sort(), ["0/2", "1/2"]);
      const a = discord.interact(help(GUILD_ID));
      const b = discord.interact(help(guildB));
      await discord.waitFor(answered(a.token));
      await discord.waitFor(answered(b.token));
    } finally {
      await bot.stop();
      await discord.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("processLabels(): the role, and on Discord the shard ids this process runs, for logs and metrics", () => {
  const base = { DISCORD_TOKEN: TOKEN, DATABASE_URL: "postgres://db/x", SOUNDALIKE_QUEUE_URL: "redis://q" };
  assert.deepEqual(processLabels(parseConfig({}), "bot"), { role: "bot" });
  assert.deepEqual(
    processLabels(parseConfig({ ...base, DISCORD_SHARDS: "4", DISCORD_SHARD_IDS: "2-3" }), "chat"),
    {
      role: "chat",
      shards: "2,3",
    },
  );
  assert.deepEqual(processLabels(parseConfig({ ...base, DISCORD_SHARDS: "2" }), "chat"), {
    role: "chat",
    shards: "0-1",
  });
  assert.deepEqual(processLabels(parseConfig({ ...base, DISCORD_SHARDS: "auto" }), "chat"), {
    role: "chat",
    shards: "auto",
  });
  assert.deepEqual(processLabels(parseConfig({ ...base, DISCORD_SHARDS: "2" }), "worker"), {
    role: "worker",
  });
});
