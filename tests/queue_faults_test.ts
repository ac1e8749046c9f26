/**
 * A worker killed in the middle of a job (`deno task worker`'s program in its own process, SIGKILL):
 * another worker takes the job over and the user gets exactly one answer — seen as Discord sees it,
 * through the real discord.js client of a chat process against the local fake. The first worker is
 * caught mid-job without any timing guess: the test holds a lock on the tracks table, so the job
 * stops at its catalog query, and PostgreSQL says when the worker waits on that lock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { startBot } from "../bot/bot.ts";
import { openJobClient } from "../bot/queue/engine.ts";
import { startWorker } from "../bot/queue/worker.ts";
import { parseConfig } from "../core/config.ts";
import { openDatabase } from "../core/db/client.ts";
import { createMemoryLogger, silentLogger } from "../core/logger.ts";
import { openTestCatalog, writeFixtureAudio } from "./catalog_fixture.ts";
import { createPostgresTestDatabase, postgresUnavailable } from "./db_helpers.ts";
import { redisUnavailable, startTestRedis } from "./redis_server.ts";
import { member, type RestCall, snowflake, startDiscordFake } from "./fakes/discord_fake.ts";
import { startFileServer } from "./fakes/file_server.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

const skip = redisUnavailable ??
  (Deno.env.get("SOUNDALIKE_REQUIRE_POSTGRES") === "1" ? null : postgresUnavailable);
if (skip) console.log(`queue_faults_test skipped: ${skip}`);

/**
 * Reads a process's standard error as lines, keeping them all. `ended()` resolves once the stream is read
 * to its end (a process's exit status can arrive before its last lines are read), or 20 s after it is
 * called, in case something the process started still holds the stream open.
 */
function lines(
  stream: ReadableStream<Uint8Array>,
): { all: string[]; ended(): Promise<void>; waitFor(re: RegExp): Promise<string> } {
  const all: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const read = (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        all.push(line);
        for (const w of waiters.filter((w) => w.re.test(line))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
    for (const w of waiters) w.resolve("");
  })();
  const ended = () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([read, new Promise<void>((resolve) => timer = setTimeout(resolve, 20_000))])
      .finally(() => clearTimeout(timer));
  };
  return {
    all,
    ended,
    waitFor(re) {
      const seen = all.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

Deno.test({
  name: "queue: a worker killed mid-job (SIGKILL) — another takes the job over, the user gets one answer",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startTestRedis();
    const database = await createPostgresTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      SOUNDALIKE_QUEUE_URL: redis.url,
      SOUNDALIKE_QUEUE_PREFIX: `kill-${crypto.randomUUID().slice(0, 8)}`,
      SOUNDALIKE_JOB_LOCK_S: "2",
    };
    const catalog = await openTestCatalog({ tracks: 6, env });
    const discord = startDiscordFake();
    const cdn = startFileServer();
    const config = parseConfig({
      ...env,
      SOUNDALIKE_DATA_DIR: catalog.dataDir,
      SOUNDALIKE_MODELS_DIR: catalog.app.config.modelsDir,
      ORT_PROVIDER: "cpu",
      ORT_THREADS: "1",
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_CDN_HOSTS: cdn.host,
    }, { cwd: Deno.cwd() });
    const { proc: first, log } = spawnWorker({
      ...env,
      SOUNDALIKE_DATA_DIR: catalog.dataDir,
      SOUNDALIKE_MODELS_DIR: config.modelsDir,
      LOG_LEVEL: "debug",
    });
    const chat = createMemoryLogger();
    const bot = await startBot({ config, logger: chat.logger });
    const locker = await openDatabase({
      url: database.url,
      dataDir: ":memory:",
      logger: silentLogger,
      migrate: false,
    });
    let second: Awaited<ReturnType<typeof startWorker>> | undefined;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let holding: Promise<unknown> | undefined;
    try {
      assert.match(await log.waitFor(/Worker ready/), /"role":"worker"/, "JSON log lines carry the role");
      const query = join(catalog.dataDir, "query.wav");
      await writeFixtureAudio(query, 1, 20);

      // The tracks table locked: the job stops at its first catalog query, mid-way.
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      holding = locker.orm.transaction(async (tx) => {
        await tx.execute(sql`lock table tracks in access exclusive mode`);
        locked();
        await released;
      });
      await isLocked;

      await discord.ready();
      const bytes = await Deno.readFile(query);
      const url = cdn.route("/attachments/1/2/query.wav", { bytes, type: "audio/wav" });
      const att = {
        id: snowflake(),
        filename: "query.wav",
        size: bytes.length,
        url,
        proxy_url: url,
        content_type: "audio/wav",
      };
      const { token } = discord.interact({
        type: 2,
        guild_id: "555555555555555555",
        channel_id: "444444444444444444",
        member: member("0"),
        data: {
          id: snowflake(),
          name: "similar",
          type: 1,
          options: [{ name: "clip", type: 11, value: att.id }],
          resolved: { attachments: { [att.id]: att } },
        },
      });
      const mine = (c: RestCall) => c.path.includes(`/${token}`);
      await log.waitFor(/"msg":"Job started".*"kind":"similar"/);
      for (let i = 0;; i++) {
        const rows = await locker.orm.execute(
          sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        ) as unknown as { n: number }[] | { rows: { n: number }[] };
        const n = Array.isArray(rows) ? rows[0]?.n : rows.rows[0]?.n;
        if ((n ?? 0) > 0) break;
        if (i > 1000) throw new Error("The worker never reached the catalog query");
        await new Promise((r) => setTimeout(r, 20));
      }
      first.kill("SIGKILL");
      const status = await first.status;
      assert.equal(status.signal, "SIGKILL");

      second = await startWorker({ config, logger: silentLogger, app: catalog.app });
      release();
      await holding;

      // The answer: the deferred reply edited once with the cards; nothing else for this interaction.
      const edit = await discord.waitFor((c) => mine(c) && c.method === "PATCH", 60_000);
      const body = edit.body as { content?: string; embeds?: unknown[] };
      assert.match(body.content ?? "", /Tracks that sound like query\.wav/);
      assert.equal(body.embeds?.length, 5);
      await bot.stop(); // lets every request in flight finish: nothing more can come for it
      const calls = discord.calls.filter(mine).map((c) => `${c.method} ${c.path.replace(token, "TOKEN")}`);
      assert.deepEqual(calls, [
        "POST /interactions/" + calls[0]!.split("/")[2] + "/TOKEN/callback",
        "PATCH /webhooks/111111111111111111/TOKEN/messages/@original",
      ], "one deferral, one answer");
      const client = openJobClient(config.scale.queue!, silentLogger);
      try {
        for (let i = 0; i < 500 && !client.connected; i++) await new Promise((r) => setTimeout(r, 20));
        const counts = await client.counts();
        assert.equal(counts.completed, 1, `one job completed once: ${JSON.stringify(counts)}`);
        assert.equal(counts.failed, 0);
        assert.equal(counts.active, 0);
      } finally {
        await client.close();
      }
    } finally {
      release();
      await holding?.catch(() => {});
      try {
        first.kill("SIGKILL");
      } catch { /* already gone */ }
      await first.status;
      await second?.stop();
      await bot.stop();
      await discord.close();
      await cdn.close();
      await locker.close();
      await catalog.close();
      await database.drop();
      await redis.close();
    }
  },
});

/** `deno task worker`'s program in its own process, JSON logs on standard error. */
function spawnWorker(env: Record<string, string>) {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bot/worker_main.ts"],
    env: { ORT_PROVIDER: "cpu", ORT_THREADS: "1", LOG_FORMAT: "json", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return { proc, log: lines(proc.stderr) };
}

/**
 * A test of `deno task worker`'s own process against a private Redis (stopped first with
 * `queueDown`) and a fresh PostgreSQL database, both gone afterwards, as is the process.
 */
function workerProcessTest(
  name: string,
  queueDown: boolean,
  fn: (worker: Deno.ChildProcess, log: ReturnType<typeof lines>) => Promise<void>,
) {
  Deno.test({
    name,
    ignore: skip !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const redis = await startTestRedis();
      if (queueDown) await redis.stop();
      const database = await createPostgresTestDatabase();
      const dataDir = await Deno.makeTempDir({ prefix: "soundalike_worker_" });
      const { proc: worker, log } = spawnWorker({
        DATABASE_URL: database.url,
        SOUNDALIKE_QUEUE_URL: redis.url,
        SOUNDALIKE_DATA_DIR: dataDir,
      });
      try {
        await fn(worker, log);
      } finally {
        try {
          worker.kill("SIGKILL");
        } catch { /* already gone */ }
        await worker.status;
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
        await database.drop();
        await redis.close();
      }
    },
  });
}

workerProcessTest(
  "deno task worker: JSON log lines with its role; SIGTERM stops it cleanly (exit 0)",
  false,
  async (worker, log) => {
    // No index yet: the worker is up (and says so) but /healthz would not call it ready.
    const up = JSON.parse(await log.waitFor(/Worker up without a search index/));
    assert.equal(up.role, "worker");
    assert.equal(up.level, "warn");
    await log.waitFor(/Taking jobs from the queue/);
    worker.kill("SIGTERM");
    const status = await worker.status;
    await log.ended();
    assert.equal(status.code, 0, log.all.join("\n"));
    assert.ok(log.all.some((l) => /"msg":"Worker stopped"/.test(l)), log.all.join("\n"));
    for (const line of log.all.filter((l) => l.trim())) JSON.parse(line);
  },
);

workerProcessTest(
  "deno task worker: waiting for an unreachable queue, SIGTERM stops it at once (exit 0, no job taken)",
  true,
  async (worker, log) => {
    await log.waitFor(/The job queue \(Redis\) is unreachable: retrying/);
    worker.kill("SIGTERM");
    const status = await worker.status;
    await log.ended();
    assert.equal(status.code, 0, log.all.join("\n"));
    assert.ok(log.all.some((l) => /"msg":"Stopped before taking any job"/.test(l)), log.all.join("\n"));
  },
);
