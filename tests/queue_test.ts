/**
 * A chat process and a worker over the real job queue (BullMQ on a private Redis) and PostgreSQL:
 * `/similar`, More like, a party share, a user's error, `/reindex` embedded by the worker, malformed
 * and oversized job messages, a job failing three times, and the queue stopped and restarted.
 * The worker runs in this process here; `queue_faults_test.ts` kills one that runs in its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { NoticeAnswer, SimilarAnswer } from "../bot/answer.ts";
import { startBot } from "../bot/bot.ts";
import type { BotServices, ClipRef, Requester } from "../bot/context.ts";
import { runMoreLike } from "../bot/handlers/more_like.ts";
import { partyShare, partyStart } from "../bot/handlers/party.ts";
import { checkSimilarRequest, runSimilar } from "../bot/handlers/similar.ts";
import { JobFailed, openJobClient } from "../bot/queue/engine.ts";
import { queuedApp } from "../bot/queue/remote_app.ts";
import { startWorker } from "../bot/queue/worker.ts";
import { type App, createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { createMemoryLogger, silentLogger } from "../core/logger.ts";
import { openTestCatalog, writeFixtureAudio } from "./catalog_fixture.ts";
import { createPostgresTestDatabase, postgresUnavailable } from "./db_helpers.ts";
import { redisUnavailable, startTestRedis } from "./redis_server.ts";

const skip = redisUnavailable ??
  (Deno.env.get("SOUNDALIKE_REQUIRE_POSTGRES") === "1" ? null : postgresUnavailable);
if (skip) console.log(`queue_test skipped: ${skip}`);

const alice: Requester = { platform: "discord", userId: "1001", name: "alice", isAdmin: true };
const clipAt = (path: string, name = "query.wav"): ClipRef => ({
  name,
  size: undefined,
  contentType: undefined,
  location: { kind: "path", path },
});

async function similarVia(services: BotServices, clip: ClipRef): Promise<SimilarAnswer | NoticeAnswer> {
  const checked = await checkSimilarRequest(services, { requester: alice, clip });
  if (checked.kind !== "checked") return checked;
  return await runSimilar(services, checked);
}

/** Polls `ok` (every 20 ms, at most 20 s): waits for a reconnection, asserts nothing about time. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Still waiting for ${what}`);
}

Deno.test({
  name: "queue: chat process + worker over BullMQ/Redis and PostgreSQL, as a user sees it, faults included",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const redis = await startTestRedis();
    const database = await createPostgresTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      SOUNDALIKE_QUEUE_URL: redis.url,
      SOUNDALIKE_QUEUE_PREFIX: `test-${crypto.randomUUID().slice(0, 8)}`,
      SOUNDALIKE_BOT_RATE_PER_MINUTE: "1000",
      SOUNDALIKE_OPS_PORT: "0",
    };
    const worker = createMemoryLogger();
    const chat = createMemoryLogger();
    const catalog = await openTestCatalog({ tracks: 9, env });
    const config = catalog.app.config;
    let running = await startWorker({ config, logger: worker.logger, app: catalog.app });
    const bot = await startBot({ config, logger: chat.logger, progressIntervalMs: 0 });
    const services = bot.services;
    const jobsRun = (kind: string) =>
      worker.records.filter((r) => r.msg === "Job started" && r.ctx?.kind === kind).length;
    try {
      const query = join(catalog.dataDir, "query.wav");
      await writeFixtureAudio(query, 2, 20);
      let firstTrack = 0;

      await t.step("/similar is answered by the worker: the chat process opens no model", async () => {
        const answer = await similarVia(services, clipAt(query));
        assert.equal(answer.kind, "similar", JSON.stringify(answer));
        const similar = answer as SimilarAnswer;
        assert.equal(similar.tracks.length, 5);
        assert.equal(similar.indexVersion, 1);
        assert.match(similar.tracks[0]!.title, /^Fixture Song \d+$/);
        firstTrack = similar.tracks[0]!.trackId;
        assert.equal(jobsRun("similar"), 1);
        assert.equal(
          (bot.app as App & { embedder: { opened?: () => unknown } }).embedder.opened?.(),
          undefined,
          "the chat process loaded no model",
        );
        // The staged copy of the clip on shared storage is gone once answered.
        assert.deepEqual([...Deno.readDirSync(join(catalog.dataDir, "queue", "clips"))], []);
      });

      await t.step("More like #1 runs on the worker", async () => {
        const answer = await runMoreLike(services, { requester: alice, trackId: firstTrack });
        assert.equal(answer.kind, "similar", JSON.stringify(answer));
        assert.match((answer as SimilarAnswer).heading, /^More like “Fixture Song \d+”/);
        assert.equal(jobsRun("similar_to_track"), 1);
      });

      await t.step("a party share: the clip is analysed and matched on the worker", async () => {
        const channel = { platform: "discord", channelId: "room-1" };
        const started = await partyStart(
          services,
          { requester: alice, channel, canHost: true },
          "Queue party",
        );
        assert.equal(started.code, "party_started");
        const answers = await partyShare(services, {
          requester: alice,
          channel,
          clips: [clipAt(query)],
          links: [],
        });
        assert.equal(answers.length, 1);
        assert.equal(answers[0]!.kind, "similar", JSON.stringify(answers[0]));
        assert.equal(jobsRun("analyze"), 1);
        assert.equal(jobsRun("similar_to_vector"), 1);
      });

      await t.step("a user's error comes back with its sentence, run once (not retried)", async () => {
        const short = join(catalog.dataDir, "short.wav");
        await writeFixtureAudio(short, 4, 1);
        const before = jobsRun("similar");
        const answer = await similarVia(services, clipAt(short, "short.wav"));
        assert.equal(answer.kind, "notice");
        assert.equal((answer as NoticeAnswer).code, "clip_too_short");
        assert.match((answer as NoticeAnswer).text, /send at least/);
        assert.equal(jobsRun("similar") - before, 1);
      });

      await t.step(
        "/reindex: the worker embeds the new files in batches; the next answer uses the new version",
        async () => {
          await writeFixtureAudio(join(catalog.catalogDir, "track_10.wav"), 9);
          await writeFixtureAudio(join(catalog.catalogDir, "track_11.wav"), 10);
          const run = await services.reindex.start({ requester: alice }, () => {});
          assert.ok(run.started);
          const summary = await run.done;
          assert.ok(summary.ok, summary.error ?? "");
          assert.equal(summary.embedded, 2, "only the new files are embedded (the cache has the others)");
          assert.equal(summary.cached, 9);
          assert.equal(summary.indexedTracks, 11);
          assert.equal(summary.indexVersion, 2);
          assert.ok(jobsRun("embed_files") >= 1);
          const answer = await similarVia(services, clipAt(query));
          assert.equal((answer as SimilarAnswer).indexVersion, 2, "the worker follows CURRENT");
        },
      );

      await t.step(
        "malformed, oversized and unknown job messages are refused with a log line; the worker goes on",
        async () => {
          const client = openJobClient(config.scale.queue!, silentLogger);
          try {
            await until(() => client.connected, "the client to connect");
            const refused = async (kind: string, data: unknown, text: RegExp) => {
              await assert.rejects(client.submit(kind, data), (err: unknown) => {
                assert.ok(err instanceof JobFailed);
                assert.match(err.reason, text);
                return true;
              });
              assert.ok(
                worker.records.some((r) =>
                  r.level === "warn" && /^Refused a malformed job/.test(r.msg) && text.test(r.msg)
                ),
                `a log line saying ${text}`,
              );
            };
            await refused(
              "similar",
              { clip: "../../../etc/passwd", options: {} },
              /clip: must be a staged clip's file name/,
            );
            await refused(
              "similar_to_vector",
              { vector: { $f32: "A".repeat(300_000) }, options: {} },
              /more than the 262144-byte limit/,
            );
            await refused("similar_to_track", { trackId: "3; drop table tracks" }, /malformed/);
            await refused("rm_rf", {}, /Unknown job kind "rm_rf"/);
          } finally {
            await client.close();
          }
          const answer = await similarVia(services, clipAt(query));
          assert.equal(answer.kind, "similar", "still serving");
        },
      );

      await t.step("a job failing three times is given up with the user's one sentence", async () => {
        const failing = parseConfig({ ...env, SOUNDALIKE_QUEUE_PREFIX: `${env.SOUNDALIKE_QUEUE_PREFIX}-f` });
        let calls = 0;
        const broken = {
          ...catalog.app,
          config: failing,
          similarToTrack: () => {
            calls++;
            return Promise.reject(new Error("The index file vanished"));
          },
        } as App;
        const failingWorker = await startWorker({ config: failing, logger: worker.logger, app: broken });
        const client = openJobClient(failing.scale.queue!, silentLogger);
        try {
          await until(() => client.connected, "the client to connect");
          const local = createApp(failing, silentLogger);
          const answer = await runMoreLike(
            { ...services, app: queuedApp(local, client) },
            { requester: alice, trackId: firstTrack },
          );
          assert.equal(answer.kind, "notice");
          assert.equal((answer as NoticeAnswer).code, "failed");
          assert.match((answer as NoticeAnswer).text, /^Something went wrong on my side/);
          assert.equal(calls, 3, "three runs, then given up");
          // The worker logs from its own "failed" event, which can fire after the chat process has
          // already read the failure from Redis: wait for the line instead of racing it.
          await until(
            () => worker.records.some((r) => r.msg === "Job given up" && r.ctx?.attempt === 3),
            "the worker's Job given up line",
          );
          await local.close();
        } finally {
          await client.close();
          await failingWorker.stop();
        }
      });

      const ops = async (port: number, path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, text: await res.text() };
      };

      await t.step(
        "/healthz is ready on both; /metrics counts the chat's answers and the worker's jobs",
        async () => {
          const chatHealth = await ops(bot.ops!.port, "/healthz");
          assert.equal(chatHealth.status, 200, chatHealth.text);
          assert.equal(JSON.parse(chatHealth.text).role, "chat");
          const workerHealth = await ops(running.ops!.port, "/healthz");
          assert.equal(workerHealth.status, 200, workerHealth.text);
          assert.deepEqual(JSON.parse(workerHealth.text), {
            status: "ready",
            role: "worker",
            indexVersion: 2,
          });
          const chatMetrics = (await ops(bot.ops!.port, "/metrics")).text;
          assert.match(
            chatMetrics,
            /soundalike_answers_total\{command="similar",outcome="ok",role="chat"\} [1-9]/,
          );
          assert.match(chatMetrics, /soundalike_errors_total\{code="clip_too_short",role="chat"\} 1/);
          assert.match(chatMetrics, /soundalike_queue_waiting\{role="chat"\} 0/);
          assert.match(chatMetrics, /soundalike_index_version\{role="chat"\} 2/);
          const workerMetrics = (await ops(running.ops!.port, "/metrics")).text;
          assert.match(
            workerMetrics,
            /soundalike_jobs_total\{kind="embed_files",outcome="done",role="worker"\} [1-9]/,
          );
          assert.match(
            workerMetrics,
            /soundalike_jobs_total\{kind="similar",outcome="user_error",role="worker"\} 1/,
          );
          assert.match(
            workerMetrics,
            /soundalike_jobs_total\{kind="similar",outcome="refused",role="worker"\} 1/,
          );
        },
      );

      await t.step(
        "the queue stopped: 'busy, try again shortly' at once; back by itself when it returns",
        async () => {
          await redis.stop();
          const down = await similarVia(services, clipAt(query));
          assert.equal(down.kind, "notice");
          assert.equal((down as NoticeAnswer).code, "busy");
          assert.equal((down as NoticeAnswer).text, "I'm busy right now: try again shortly");
          const more = await runMoreLike(services, { requester: alice, trackId: firstTrack });
          assert.equal((more as NoticeAnswer).text, "I'm busy right now: try again shortly");
          const health = await ops(bot.ops!.port, "/healthz");
          assert.equal(health.status, 503);
          assert.match(health.text, /the job queue does not answer/);
          await redis.start();
          // Reconnection is the clients' own (ioredis retries); the test only waits for it.
          let answer: SimilarAnswer | NoticeAnswer | undefined;
          for (let i = 0; i < 200 && answer?.kind !== "similar"; i++) {
            answer = await similarVia(services, clipAt(query));
            if (answer.kind !== "similar") await new Promise((r) => setTimeout(r, 100));
          }
          assert.equal(answer?.kind, "similar", JSON.stringify(answer));
          assert.equal((await ops(bot.ops!.port, "/healthz")).status, 200);
        },
      );

      await t.step(
        "/reindex reaching another chat process (shard) says how far the running one is",
        async () => {
          // No worker for a moment: the running reindex waits at its embedding batch.
          await running.stop();
          await writeFixtureAudio(join(catalog.catalogDir, "track_12.wav"), 11);
          let stage = "";
          const first = await services.reindex.start({ requester: alice }, (a) => {
            if (a.kind === "reindex_progress") stage = a.stage;
          });
          assert.ok(first.started);
          await until(
            () => stage === "embedding",
            "the reindex's embedding batches",
          );
          // A chat process that cannot reach the board yet starts its own run: wait for its connection.
          const jobs = openJobClient(config.scale.queue!, silentLogger);
          let other: Awaited<ReturnType<typeof startBot>> | undefined;
          try {
            await until(() => jobs.connected, "the second process's queue connection");
            other = await startBot({ config, logger: silentLogger, jobs });
            const updates: unknown[] = [];
            const second = await other.services.reindex.start(
              { requester: { ...alice, name: "bob" } },
              (a) => void updates.push(a),
            );
            // refused before anything is shown as started
            assert.equal(second.started, false);
            assert.equal(second.answer.kind, "notice");
            assert.equal((second.answer as NoticeAnswer).code, "busy");
            assert.deepEqual(updates, []);
            assert.match(
              (second.answer as NoticeAnswer).text,
              /^A reindex is already running \(\d+ %, embedding, started by alice through another bot process\): its summary is posted where it was started$/,
            );
          } finally {
            await other?.stop();
            await jobs.close();
          }
          running = await startWorker({ config, logger: worker.logger, app: catalog.app });
          const summary = await first.done;
          assert.ok(summary.ok, summary.error ?? "");
          assert.equal(summary.embedded, 1);
        },
      );
    } finally {
      await bot.stop();
      await running.stop();
      await catalog.close();
      await database.drop();
      await redis.close();
    }
  },
});
