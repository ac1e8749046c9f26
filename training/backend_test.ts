import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createMemoryLogger } from "../core/logger.ts";
import { setupBackend, tensorflowAvailable } from "./backend.ts";

Deno.test("setupBackend() auto picks tensorflow when tfjs-node imports, else wasm with SIMD, and logs it", async () => {
  const { logger, records } = createMemoryLogger();
  const info = await setupBackend({ logger });
  const native = await tensorflowAvailable();
  assert.equal(info.name, native ? "tensorflow" : "wasm");
  assert.equal(tf.getBackend(), info.name);
  if (!native) assert.equal(info.simd, true);
  assert.equal(records.length, 1);
  assert.match(records[0]!.msg, new RegExp(`tfjs backend: ${info.name}`));
});

Deno.test("setupBackend() switches to cpu on request and computes there", async () => {
  const info = await setupBackend({ prefer: "cpu" });
  assert.equal(info.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2]), 1).dataSync()), [2, 3]);
});

Deno.test("setupBackend() names the package when the tensorflow backend is requested but absent", async () => {
  if (await tensorflowAvailable()) return; // nothing to check where tfjs-node is installed
  await assert.rejects(setupBackend({ prefer: "tensorflow" }), /install @tensorflow\/tfjs-node/);
});
