/**
 * The job queue (BullMQ on a private Redis, PostgreSQL for the catalog) against the one-process
 * path, in one run on this machine. Targets (issue 14, 2 cores):
 * - hop: the queue adds <= 30 ms at p95 to an answer (`/similar` on a 30 s MP3, and a vector search,
 *   alternating in-process and queued, one at a time, one warm worker process);
 * - crowd: 20 users at once, 1 chat process (this one) + 2 worker processes: no error, no lost or
 *   duplicated answer; answers/s and answers per worker CPU second beside the one-process figures;
 * - reindex: a 1,000-file catalog (5 % corrupt, 2 % copies) reindexed with 2 workers: every good
 *   file embedded once, counts identical to a one-process run.
 * Prints figures beside targets; asserts nothing.
 *
 *     node_modules/.bin/deno run -A bench/queue_bench.ts [--part hop,crowd,reindex] [--runs 20]
 *       [--users 20] [--tracks 2000] [--files 1000] [--worker-concurrency 6]
 * @module
 */
import { join } from "node:path";
import type { NoticeAnswer, SimilarAnswer } from "../bot/answer.ts";
import { startBot } from "../bot/bot.ts";
import type { BotServices } from "../bot/context.ts";
import { checkSimilarRequest, runSimilar } from "../bot/handlers/similar.ts";
import { openJobClient } from "../bot/queue/engine.ts";
import { remoteEmbedFiles } from "../bot/queue/remote_app.ts";
import { type App, createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { createConsoleLogger, silentLogger } from "../core/logger.ts";
import { mulberry32 } from "../core/util/random.ts";
import { wavBytes } from "../tests/audio_fixtures.ts";
import { createPostgresTestDatabase } from "../tests/db_helpers.ts";
import { startTestRedis } from "../tests/redis_server.ts";
import { writeSyntheticCatalog } from "./_catalog.ts";
import { arg, benchMp3s, cpuSeconds, loadAverage } from "./_util.ts";

const parts = new Set((arg("part") ?? "hop,crowd,reindex").split(","));
const runs = Number(arg("runs") ?? 20);
const users = Number(arg("users") ?? 20);
const trackCount = Number(arg("tracks") ?? 2000);
const fileCount = Number(arg("files") ?? 1000);
const workerConcurrency = arg("worker-concurrency") ?? "6";
const logger = createConsoleLogger("warn");

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`;

/** CPU seconds of a process and its reaped children (ffmpeg), from /proc. */
function cpuOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** A `deno task worker` process; resolves once it says it is ready. */
async function spawnWorker(env: Record<string, string>): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bot/worker_main.ts"],
    env: { ...env, LOG_LEVEL: "info", NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/Worker (ready|up)/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The worker ended before it was ready:\n${seen}`);
    seen += value;
  }
  // Keep draining its log so it never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return child;
}

async function stopAll(children: Deno.ChildProcess[]): Promise<void> {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch { /* gone */ }
    await c.status;
  }
}

const redis = await startTestRedis();
const database = await createPostgresTestDatabase();
const dataDir = await Deno.makeTempDir({ prefix: "soundalike_queue_bench_" });
const base = {
  ...Deno.env.toObject(),
  DATABASE_URL: database.url,
  SOUNDALIKE_DATA_DIR: dataDir,
  SOUNDALIKE_MODELS_DIR: join(Deno.cwd(), "models"),
  ORT_PROVIDER: "cpu",
  ORT_THREADS: "1",
  LOG_LEVEL: "warn",
  LOG_FORMAT: "text",
  SOUNDALIKE_BOT_RATE_PER_MINUTE: "10000",
  SOUNDALIKE_BOT_QUEUE: String(Math.max(50, users)),
  SOUNDALIKE_OPS_PORT: "",
  DISCORD_TOKEN: "",
  SLACK_BOT_TOKEN: "",
  SLACK_SIGNING_SECRET: "",
  SLACK_APP_TOKEN: "",
};
const queuedEnv = {
  ...base,
  SOUNDALIKE_QUEUE_URL: redis.url,
  SOUNDALIKE_QUEUE_PREFIX: "bench",
  SOUNDALIKE_WORKER_CONCURRENCY: workerConcurrency,
};
const local = parseConfig(base);
const queued = parseConfig(queuedEnv);
console.log(
  `queue bench: ${navigator.hardwareConcurrency} CPUs, load ${loadAverage()}, parts ${[...parts].join(",")}`,
);

const requester = (i: number) => ({
  platform: "discord" as const,
  userId: String(i),
  name: `u${i}`,
  isAdmin: false,
});

async function ask(services: BotServices, path: string, user: number): Promise<SimilarAnswer | NoticeAnswer> {
  const checked = await checkSimilarRequest(services, {
    requester: requester(user),
    clip: { name: "clip.mp3", size: undefined, contentType: undefined, location: { kind: "path", path } },
  });
  if (checked.kind !== "checked") return checked;
  return await runSimilar(services, checked);
}

let app: App | undefined;
const children: Deno.ChildProcess[] = [];
try {
  if (parts.has("hop") || parts.has("crowd")) {
    app = createApp(local, logger);
    await writeSyntheticCatalog(app, dataDir, trackCount, logger);
    const [clip] = await benchMp3s(1);
    const inProcess = await startBot({ config: local, logger, app });
    await app.warm();
    children.push(await spawnWorker(queuedEnv));
    // The queue's own share of each answer: total time minus the worker's run of the job.
    const hops: Record<string, number[]> = {};
    let recordHops = false;
    const jobs = openJobClient(queued.scale.queue!, logger, {
      onTimings: (t) => {
        if (recordHops) (hops[t.kind] ??= []).push(t.totalMs - t.ranMs);
      },
    });
    const chat = await startBot({ config: queued, logger, jobs });
    try {
      if (parts.has("hop")) {
        const times = {
          local: [] as number[],
          queued: [] as number[],
          localMore: [] as number[],
          queuedMore: [] as number[],
        };
        // A party's "next" searches by vector: the hop without decoding or embedding.
        const vector = new Float32Array(2304).map((_, i) => Math.sin(i) / 24);
        await ask(inProcess.services, clip!, 1);
        await ask(chat.services, clip!, 1);
        recordHops = true;
        for (let r = 0; r < runs; r++) {
          for (const [key, services] of [["local", inProcess.services], ["queued", chat.services]] as const) {
            const t0 = performance.now();
            const a = await ask(services, clip!, 2);
            if (a.kind !== "similar") throw new Error(`${key}: ${JSON.stringify(a)}`);
            times[key].push(performance.now() - t0);
            const t1 = performance.now();
            const m = await services.app.similarToVector(vector, { k: 5 });
            if (m.recommendations.length !== 5) {
              throw new Error(`${key} vector search: ${m.recommendations.length}`);
            }
            times[key === "local" ? "localMore" : "queuedMore"].push(performance.now() - t1);
          }
        }
        const row = (label: string, a: number[], b: number[]) =>
          console.log(
            `${label.padEnd(34)} in-process p50 ${ms(percentile(a, 50))} p95 ${ms(percentile(a, 95))} | ` +
              `queued p50 ${ms(percentile(b, 50))} p95 ${ms(percentile(b, 95))} | ` +
              `added at p95 ${ms(percentile(b, 95) - percentile(a, 95))} (target <= 30 ms)`,
          );
        recordHops = false;
        console.log(`hop: ${runs} runs each, alternating, ${trackCount} tracks, 1 worker process`);
        row("/similar (30 s MP3)", times.local, times.queued);
        row("vector search (no decode)", times.localMore, times.queuedMore);
        const paired = (a: number[], b: number[]) => b.map((x, i) => x - a[i]!);
        const pair = (label: string, d: number[]) =>
          console.log(
            `${label.padEnd(34)} queued minus in-process, paired runs: p50 ${ms(percentile(d, 50))} p95 ${
              ms(percentile(d, 95))
            }`,
          );
        pair("/similar (30 s MP3)", paired(times.local, times.queued));
        pair("vector search (no decode)", paired(times.localMore, times.queuedMore));
        for (const [kind, xs] of Object.entries(hops)) {
          console.log(
            `${`queue's share, ${kind} jobs`.padEnd(34)} total minus the worker's run: p50 ${
              ms(percentile(xs, 50))
            } p95 ${ms(percentile(xs, 95))} (target <= 30 ms at p95)`,
          );
        }
      }
      if (parts.has("crowd")) {
        children.push(await spawnWorker(queuedEnv));
        const crowd = async (services: BotServices, first: number) => {
          const t0 = performance.now();
          const answers = await Promise.all(
            Array.from({ length: users }, (_, i) => ask(services, clip!, first + i)),
          );
          const seconds = (performance.now() - t0) / 1000;
          const ok = answers.filter((a) => a.kind === "similar").length;
          return {
            seconds,
            ok,
            errors: answers.length - ok,
            codes: answers.filter((a) => a.kind === "notice").map((a) => (a as NoticeAnswer).code),
          };
        };
        const cpu0 = cpuSeconds();
        const one = await crowd(inProcess.services, 1000);
        const oneCpu = cpuSeconds() - cpu0;
        const client = openJobClient(queued.scale.queue!, silentLogger);
        while (!client.connected) await new Promise((r) => setTimeout(r, 20));
        const before = await client.counts();
        const workerCpu0 = children.map((c) => cpuOf(c.pid));
        const chatCpu0 = cpuSeconds();
        const two = await crowd(chat.services, 2000);
        const chatCpu = cpuSeconds() - chatCpu0;
        const workerCpu = children.reduce((sum, c, i) => sum + cpuOf(c.pid) - workerCpu0[i]!, 0);
        const after = await client.counts();
        await client.close();
        const completed = (after.completed ?? 0) - (before.completed ?? 0);
        const failed = (after.failed ?? 0) - (before.failed ?? 0);
        console.log(
          `crowd: ${users} users at once, a 30 s MP3 each, ${trackCount} tracks, ${workerConcurrency} jobs per worker`,
        );
        console.log(
          `  one process:          ${one.ok}/${users} answered, ${one.errors} errors ${
            one.codes.join(",")
          }; ` +
            `${(one.ok / one.seconds).toFixed(2)} answers/s; ${
              (one.ok / oneCpu).toFixed(2)
            } answers per CPU s`,
        );
        console.log(
          `  1 chat + 2 workers:   ${two.ok}/${users} answered, ${two.errors} errors ${
            two.codes.join(",")
          }; ` +
            `jobs completed ${completed} (lost or duplicated: ${completed - two.ok}), failed ${failed}; ` +
            `${(two.ok / two.seconds).toFixed(2)} answers/s; ${
              (two.ok / workerCpu).toFixed(2)
            } answers per worker CPU s; ` +
            `chat process ${((chatCpu / Math.max(1, two.ok)) * 1000).toFixed(0)} ms CPU per answer`,
        );
        console.log("  target: no error, no lost or duplicated answer");
      }
    } finally {
      await chat.stop();
      await jobs.close();
      await inProcess.stop();
      await stopAll(children.splice(0));
    }
  }

  if (parts.has("reindex")) {
    const catalogDir = await Deno.makeTempDir({ prefix: "soundalike_queue_bench_catalog_" });
    const rand = mulberry32(14);
    const corrupt = Math.round(fileCount * 0.05);
    const copies = Math.round(fileCount * 0.02);
    const good = fileCount - corrupt - copies;
    for (let i = 0; i < good; i++) {
      const samples = new Float32Array(8000 * 4);
      const f = 110 + 1.7 * i;
      for (let n = 0; n < samples.length; n++) {
        samples[n] = 0.3 * Math.sin((2 * Math.PI * f * n) / 8000) + 0.05 * (rand() - 0.5);
      }
      await Deno.writeFile(
        join(catalogDir, `t${String(i).padStart(4, "0")}.wav`),
        wavBytes(samples, { sampleRate: 8000 }),
      );
    }
    for (let i = 0; i < corrupt; i++) {
      await Deno.writeFile(
        join(catalogDir, `bad${i}.mp3`),
        Uint8Array.from({ length: 2000 }, () => Math.floor(rand() * 256)),
      );
    }
    for (let i = 0; i < copies; i++) {
      await Deno.copyFile(
        join(catalogDir, `t${String(i).padStart(4, "0")}.wav`),
        join(catalogDir, `copy${i}.wav`),
      );
    }
    const summarize = (r: Awaited<ReturnType<App["update"]>>) => ({
      stored: r.summary.stored,
      skipped: r.summary.skipped.length,
      duplicates: r.summary.duplicates.length,
      embedded: r.reindex.embedded,
    });

    // One process.
    const soloDb = await createPostgresTestDatabase();
    const soloDir = await Deno.makeTempDir({ prefix: "soundalike_queue_bench_solo_" });
    const solo = createApp(
      parseConfig({ ...base, DATABASE_URL: soloDb.url, SOUNDALIKE_DATA_DIR: soloDir }),
      logger,
    );
    let t0 = performance.now();
    const soloReport = summarize(await solo.update(catalogDir));
    const soloSeconds = (performance.now() - t0) / 1000;
    await solo.close();
    await soloDb.drop();
    await Deno.remove(soloDir, { recursive: true });

    // Two workers.
    const reindexEnv = { ...queuedEnv, SOUNDALIKE_QUEUE_PREFIX: "bench-reindex" };
    children.push(await spawnWorker(reindexEnv), await spawnWorker(reindexEnv));
    const cfg = parseConfig(reindexEnv);
    const client = openJobClient(cfg.scale.queue!, silentLogger);
    while (!client.connected) await new Promise((r) => setTimeout(r, 20));
    let sent = 0;
    const distinct = new Set<string>();
    const embed = remoteEmbedFiles(client);
    const chatApp = createApp(cfg, logger, {
      embedFiles: (paths) => {
        sent += paths.length;
        for (const p of paths) distinct.add(p);
        return embed(paths);
      },
      reindexConcurrency: 4,
    });
    t0 = performance.now();
    const queuedReport = summarize(await chatApp.update(catalogDir));
    const queuedSeconds = (performance.now() - t0) / 1000;
    await chatApp.close();
    await client.close();
    await stopAll(children.splice(0));
    await Deno.remove(catalogDir, { recursive: true });
    console.log(`reindex: ${fileCount} files (${good} good, ${corrupt} corrupt, ${copies} copies)`);
    console.log(`  one process:  ${JSON.stringify(soloReport)} in ${soloSeconds.toFixed(1)} s`);
    console.log(
      `  2 workers:    ${JSON.stringify(queuedReport)} in ${queuedSeconds.toFixed(1)} s`,
    );
    console.log(
      `  counts identical: ${JSON.stringify(soloReport) === JSON.stringify(queuedReport)} (target: true); ` +
        `files sent to the workers ${sent}, distinct ${distinct.size} (no file twice: ${
          sent === distinct.size
        })`,
    );
  }
} finally {
  await stopAll(children);
  await app?.close();
  await database.drop();
  await redis.close();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  console.log(`load at end: ${loadAverage()}`);
}
