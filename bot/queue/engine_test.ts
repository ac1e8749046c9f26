import assert from "node:assert/strict";
import { parseConfig } from "../../core/config.ts";
import { silentLogger } from "../../core/logger.ts";
import { redisUnavailable, startTestRedis } from "../../tests/redis_server.ts";
import { type JobInfo, openJobClient, startJobWorker } from "./engine.ts";
import { JobTimedOut } from "./errors.ts";

Deno.test({
  name: "startJobWorker() drops a job older than the chat side's timeout instead of running it for nobody",
  ignore: redisUnavailable !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startTestRedis();
    const config = parseConfig({
      DATABASE_URL: "postgres://localhost/x",
      SOUNDALIKE_QUEUE_URL: redis.url,
      SOUNDALIKE_QUEUE_PREFIX: "expiry",
      SOUNDALIKE_JOB_TIMEOUT_S: "1",
    }).scale.queue!;
    const client = openJobClient(config, silentLogger);
    const ran: string[] = [];
    const run = (job: JobInfo) => {
      ran.push(String((job.data as { n: number }).n));
      return Promise.resolve("answer");
    };
    let worker: Awaited<ReturnType<typeof startJobWorker>> | undefined;
    let patientClient: ReturnType<typeof openJobClient> | undefined;
    try {
      for (let i = 0; i < 500 && !client.connected; i++) await new Promise((r) => setTimeout(r, 20));
      // No worker yet: the chat side gives up after 1 s and answers "busy".
      await assert.rejects(client.submit("similar", { n: 1 }), JobTimedOut);
      worker = await startJobWorker(config, silentLogger, run);
      // The waiting job is taken at once and given up without running (wait for that, not a time).
      let counts = await client.counts();
      for (let i = 0; i < 500 && (counts.failed ?? 0) === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        counts = await client.counts();
      }
      assert.equal(counts.failed, 1, JSON.stringify(counts));
      assert.deepEqual(ran, [], "the expired job never ran");
      // A job queued now is run and answered (by a worker and client with a timeout a busy machine
      // cannot outlast: the 1 s one above is for the expiry alone).
      await worker.close();
      const patient = { ...config, jobTimeoutSeconds: 30 };
      worker = await startJobWorker(patient, silentLogger, run);
      patientClient = openJobClient(patient, silentLogger);
      for (let i = 0; i < 500 && !patientClient.connected; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await patientClient.submit("similar", { n: 2 }), "answer");
      assert.deepEqual(ran, ["2"]);
      assert.equal((await patientClient.counts()).completed, 1);
    } finally {
      await worker?.close();
      await patientClient?.close();
      await client.close();
      await redis.close();
    }
  },
});

Deno.test({
  name:
    "startJobWorker() waiting for an unreachable Redis gives up when its signal aborts, and starts once Redis answers",
  ignore: redisUnavailable !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const redis = await startTestRedis();
    await redis.stop();
    const config = parseConfig({
      DATABASE_URL: "postgres://localhost/x",
      SOUNDALIKE_QUEUE_URL: redis.url,
      SOUNDALIKE_QUEUE_PREFIX: "abort",
    }).scale.queue!;
    const ran: number[] = [];
    const handle = (job: JobInfo) => {
      ran.push((job.data as { n: number }).n);
      return Promise.resolve("answer");
    };
    try {
      // Redis is down: the start waits (and would wait forever) until the signal aborts.
      const stop = new AbortController();
      let settled = false;
      const starting = startJobWorker(config, silentLogger, handle, stop.signal).finally(
        () => (settled = true),
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(settled, false, "still waiting for Redis");
      stop.abort(new Error("stop asked for"));
      // (a liveness limit: without the signal the start would never settle)
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise((
        _,
        reject,
      ) => (timer = setTimeout(() => reject(new Error("still waiting")), 30_000)));
      await assert.rejects(Promise.race([starting, hung]), /stop asked for/).finally(() =>
        clearTimeout(timer)
      );
      // An already aborted signal gives up at once.
      await assert.rejects(
        startJobWorker(config, silentLogger, handle, AbortSignal.abort(new Error("already"))),
        /already/,
      );
      // The given-up workers took nothing: with Redis back, a job goes to a worker started now.
      await redis.start();
      const worker = await startJobWorker(config, silentLogger, handle, new AbortController().signal);
      const client = openJobClient(config, silentLogger);
      try {
        for (let i = 0; i < 500 && !client.connected; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await client.submit("similar", { n: 7 }), "answer");
        assert.deepEqual(ran, [7]);
      } finally {
        await worker.close();
        await client.close();
      }
    } finally {
      await redis.close();
    }
  },
});
