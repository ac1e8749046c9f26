import assert from "node:assert/strict";
import { QueueRefused, WorkQueue } from "./work_queue.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

Deno.test("WorkQueue.run() runs at most `concurrency` jobs and tells waiters their place", async () => {
  const queue = new WorkQueue({ concurrency: 1, capacity: 2 });
  const first = gate();
  const order: string[] = [];
  const positions: Record<string, number[]> = { b: [], c: [] };
  const a = queue.run(async () => (await first.opened, order.push("a")));
  const b = queue.run(() => Promise.resolve(order.push("b")), (p) => positions.b!.push(p));
  const c = queue.run(() => Promise.resolve(order.push("c")), (p) => positions.c!.push(p));
  assert.equal(queue.running, 1);
  assert.equal(queue.waiting, 2);
  assert.equal(queue.full, true);
  await assert.rejects(
    queue.run(() => Promise.resolve(0)),
    (e) => e instanceof QueueRefused && e.reason === "full",
  );
  first.open();
  await Promise.all([a, b, c]);
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.deepEqual(positions, { b: [1], c: [2, 1] });
});

Deno.test("WorkQueue.close() refuses new work and waits for accepted jobs, failed ones included", async () => {
  const queue = new WorkQueue({ concurrency: 1, capacity: 5 });
  const g = gate();
  let finished = 0;
  const running = queue.run(async () => (await g.opened, finished++));
  const failing = queue.run(() => Promise.reject(new Error("boom")));
  const closed = queue.close();
  await assert.rejects(
    queue.run(() => Promise.resolve(0)),
    (e) => e instanceof QueueRefused && e.reason === "closed",
  );
  let done = false;
  closed.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(done, false, "close() waited for the running job");
  g.open();
  await running;
  await assert.rejects(failing, /boom/);
  await closed;
  assert.equal(finished, 1);
});

Deno.test("WorkQueue.nextPosition() is 0 with a free slot and the place in line otherwise", async () => {
  const queue = new WorkQueue({ concurrency: 1, capacity: 3 });
  assert.equal(queue.nextPosition(), 0);
  const g = gate();
  const job = queue.run(() => g.opened);
  assert.equal(queue.nextPosition(), 1);
  g.open();
  await job;
});
