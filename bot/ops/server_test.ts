import assert from "node:assert/strict";
import { createMetrics } from "./metrics.ts";
import { startOpsServer } from "./server.ts";

Deno.test("startOpsServer(): /healthz is 503 until ready, then 200; /metrics has the answers, jobs and gauges", async () => {
  let ready = false;
  const metrics = createMetrics({ role: "chat", shards: "0" }, {
    queueWaiting: () => Promise.resolve(3),
    indexVersion: () => Promise.resolve(7),
  });
  const ops = startOpsServer({
    port: 0,
    hostname: "127.0.0.1",
    metrics,
    labels: { role: "chat", shards: "0" },
    health: () => ({ ready, detail: ready ? {} : { problem: "warming up" } }),
  });
  try {
    const base = `http://127.0.0.1:${ops.port}`;
    const starting = await fetch(`${base}/healthz`);
    assert.equal(starting.status, 503);
    assert.deepEqual(await starting.json(), {
      status: "not ready",
      role: "chat",
      shards: "0",
      problem: "warming up",
    });
    ready = true;
    const up = await fetch(`${base}/healthz`);
    assert.equal(up.status, 200);
    assert.equal((await up.json()).status, "ready");

    metrics.answered("similar", "ok", 0.3);
    metrics.answered("similar", "busy", 0.01);
    metrics.jobDone("similar", "done", 0.25);
    const res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const body = await res.text();
    assert.match(body, /soundalike_answers_total\{command="similar",outcome="ok",role="chat",shards="0"\} 1/);
    assert.match(body, /soundalike_errors_total\{code="busy",role="chat",shards="0"\} 1/);
    assert.match(body, /soundalike_answer_seconds_count\{role="chat",shards="0",command="similar"\} 2/);
    assert.match(body, /soundalike_jobs_total\{kind="similar",outcome="done",role="chat",shards="0"\} 1/);
    assert.match(body, /soundalike_queue_waiting\{role="chat",shards="0"\} 3/);
    assert.match(body, /soundalike_index_version\{role="chat",shards="0"\} 7/);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
  } finally {
    await ops.close();
  }
});
