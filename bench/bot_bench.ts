/**
 * The Discord bot end to end against the local fakes (gateway + REST, and a CDN serving a 30 s
 * MP3), over an 8,000-track catalog: from the interaction to the deferred reply and to the final
 * cards, for one user at a time and for 20 users at once, beside ffmpeg decoding the same clip;
 * and the warm bot's resident memory. Targets (chat issue, 2 cores): deferred reply <= 300 ms at
 * p95; final cards <= 1.5x the decode alone for one user; 20 at once with no error and >= 4
 * answers/s; resident memory <= 600 MB.
 *
 *     node_modules/.bin/deno run -A bench/bot_bench.ts [--runs 15] [--users 20] [--tracks 8000]
 * @module
 */
import { startBot } from "../bot/bot.ts";
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { member, type RestCall, snowflake, startDiscordFake } from "../tests/fakes/discord_fake.ts";
import { startFileServer } from "../tests/fakes/file_server.ts";
import { writeSyntheticCatalog } from "./_catalog.ts";
import {
  arg,
  benchMp3s,
  cpuSplit,
  exists,
  ffmpegDecodeOnly,
  loadAverage,
  measureInFreshProcess,
  median,
} from "./_util.ts";

const runs = Number(arg("runs") ?? 15);
const users = Number(arg("users") ?? 20);
const trackCount = Number(arg("tracks") ?? 8000);
const shared = new URL("../../shared/data/fma_small/000/000002.mp3", import.meta.url).pathname;
const file = arg("file") ?? (await exists(shared) ? shared : (await benchMp3s(1))[0]!);
const dataDir = arg("data") ??
  await Deno.makeTempDir({ prefix: "soundalike_bot_bench_" });
const logger = createConsoleLogger("warn");
const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function measure(): Promise<void> {
  const discord = startDiscordFake();
  const cdn = startFileServer();
  const bytes = await Deno.readFile(file);
  const url = cdn.route("/attachments/1/1/clip.mp3", { bytes, type: "audio/mpeg" });
  const config = parseConfig({
    ...Deno.env.toObject(),
    SOUNDALIKE_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    DISCORD_TOKEN: TOKEN,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_CDN_HOSTS: cdn.host,
    SOUNDALIKE_BOT_QUEUE: String(Math.max(20, users)),
    SOUNDALIKE_BOT_RATE_PER_MINUTE: "1000",
    SLACK_BOT_TOKEN: "",
  });
  const bot = await startBot({ config, logger });
  await discord.ready();

  /** Sends one /similar and resolves with the times to the deferred reply and to the final answer. */
  const ask = async (user: string): Promise<{ deferred: number; final: number; ok: boolean }> => {
    const attId = snowflake();
    const sent = performance.now();
    const { token } = discord.interact({
      type: 2,
      guild_id: "555555555555555555",
      channel_id: "444444444444444444",
      member: member("0", user),
      data: {
        id: snowflake(),
        name: "similar",
        type: 1,
        options: [{ name: "clip", type: 11, value: attId }],
        resolved: {
          attachments: {
            [attId]: {
              id: attId,
              filename: "clip.mp3",
              size: bytes.length,
              url,
              proxy_url: url,
              content_type: "audio/mpeg",
            },
          },
        },
      },
    });
    const mine = (c: RestCall) => c.path.includes(`/${token}`);
    const deferred = await discord.waitFor((c) => mine(c) && c.path.endsWith("/callback"), 120_000);
    const final = await discord.waitFor(
      (c) =>
        mine(c) &&
        (c.method === "PATCH" && ((c.body as { embeds?: unknown[] }).embeds?.length ?? 0) > 0 ||
          c.method === "DELETE"),
      120_000,
    );
    return { deferred: deferred.at - sent, final: final.at - sent, ok: final.method === "PATCH" };
  };

  console.log(
    `bot bench: ${file}, ${trackCount} tracks, ${runs} runs alone, ${users} at once; load ${loadAverage()}`,
  );
  await ask("900000000000000000"); // warm up
  const alone = { deferred: [] as number[], final: [] as number[], decode: [] as number[] };
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await ffmpegDecodeOnly(file, ["-ac", "1", "-ar", "16000"]);
    alone.decode.push(performance.now() - t0);
    const one = await ask(String(900000000000000001n + BigInt(r)));
    alone.deferred.push(one.deferred);
    alone.final.push(one.final);
  }
  const cpu0 = cpuSplit();
  const t0 = performance.now();
  const crowd = await Promise.all(
    Array.from({ length: users }, (_, i) => ask(String(910000000000000000n + BigInt(i)))),
  );
  const crowdSeconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSplit();
  const rssMb = Deno.memoryUsage().rss / 1024 / 1024;
  await bot.stop();
  await discord.close();
  await cdn.close();

  const decode = median(alone.decode);
  const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
  console.log("\none user at a time (medians, p95):");
  console.log(
    `  interaction -> deferred reply   ${ms(median(alone.deferred))}  p95 ${
      ms(percentile(alone.deferred, 95))
    }   target p95 <= 300 ms`,
  );
  console.log(
    `  interaction -> final cards      ${ms(median(alone.final))}  = ${
      (median(alone.final) / decode).toFixed(2)
    }x ffmpeg decode alone (${decode.toFixed(0)} ms)   target <= 1.5x`,
  );
  const errors = crowd.filter((c) => !c.ok).length;
  console.log(`${users} users at once:`);
  console.log(
    `  deferred reply p95 ${ms(percentile(crowd.map((c) => c.deferred), 95))}   target <= 300 ms`,
  );
  console.log(
    `  final cards: median ${ms(median(crowd.map((c) => c.final)))}, slowest ${
      ms(Math.max(...crowd.map((c) => c.final)))
    }`,
  );
  console.log(`  errors ${errors}   target 0`);
  console.log(`  throughput ${(users / crowdSeconds).toFixed(2)} answers/s   target >= 4`);
  const perAnswer = (x: number) => `${(x * 1000 / users).toFixed(0)} ms`;
  console.log(
    `  CPU per answer: bot process ${perAnswer(cpu1.self - cpu0.self)} (includes the in-process fakes), ` +
      `ffmpeg ${perAnswer(cpu1.children - cpu0.children)}; ${navigator.hardwareConcurrency} cores`,
  );
  console.log(
    `resident memory of the warm bot, ${trackCount} tracks: ${rssMb.toFixed(0)} MB   target <= 600 MB`,
  );
  console.log(`load average at end: ${loadAverage()}`);
}

// Measured in a fresh process, so the memory is that of a bot serving the catalog.
await measureInFreshProcess(
  async () => {
    const config = parseConfig({ ...Deno.env.toObject(), SOUNDALIKE_DATA_DIR: dataDir, LOG_LEVEL: "warn" });
    const app = createApp(config, logger);
    await writeSyntheticCatalog(app, dataDir, trackCount, logger);
    await app.close();
  },
  measure,
  dataDir,
);
