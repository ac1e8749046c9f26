import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import type { onnx as OnnxNs } from "onnx-proto";
import { isSoundalikeError } from "../errors.ts";
import { createMemoryLogger } from "../logger.ts";
import { createSession, releaseSession, resetProviderState, run } from "./onnx.ts";

const { onnx } = onnxProto as unknown as { onnx: typeof OnnxNs };

/**
 * A hand-written graph with the embedding models' interface: `logmel` [N, H, W, 1] -> mean over (W, 1)
 * -> Gemm to 256 -> `embedding`; Gemm to `classes` -> `logits`. Weights are `(i % 7) / 10 - 0.3`.
 */
function tinyModel(h: number, w: number, classes: number): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const weights = (n: number) => Float32Array.from({ length: n }, (_, i) => (i % 7) / 10 - 0.3);
  const init = (name: string, data: Float32Array, dims: number[]): OnnxNs.ITensorProto => ({
    name,
    dataType: FLOAT,
    dims,
    rawData: new Uint8Array(data.buffer),
  });
  const vi = (name: string, dims: (string | number)[]): OnnxNs.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => typeof d === "string" ? { dimParam: d } : { dimValue: d }) },
      },
    },
  });
  const AT = onnx.AttributeProto.AttributeType;
  const graph: OnnxNs.IGraphProto = {
    name: "tiny",
    node: [
      {
        opType: "ReduceMean",
        input: ["logmel"],
        output: ["pooled"],
        attribute: [{ name: "axes", type: AT.INTS, ints: [2, 3] }, { name: "keepdims", type: AT.INT, i: 0 }],
      },
      { opType: "Gemm", input: ["pooled", "w1"], output: ["embedding"] },
      { opType: "Gemm", input: ["embedding", "w2"], output: ["logits"] },
    ],
    initializer: [init("w1", weights(h * 256), [h, 256]), init("w2", weights(256 * classes), [256, classes])],
    input: [vi("logmel", ["N", h, w, 1])],
    output: [vi("embedding", ["N", 256]), vi("logits", ["N", classes])],
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  })).finish();
}

/** The same computation in plain JavaScript. */
function reference(data: Float32Array, batch: number, h: number, w: number, classes: number) {
  const wt = (i: number) => Math.fround((i % 7) / 10 - 0.3);
  const emb = new Float32Array(batch * 256);
  const logits = new Float32Array(batch * classes);
  for (let n = 0; n < batch; n++) {
    const pooled = Array.from({ length: h }, (_, r) => {
      let s = 0;
      for (let c = 0; c < w; c++) s += data[(n * h + r) * w + c]!;
      return s / w;
    });
    for (let j = 0; j < 256; j++) {
      let s = 0;
      for (let r = 0; r < h; r++) s += pooled[r]! * wt(r * 256 + j);
      emb[n * 256 + j] = s;
    }
    for (let k = 0; k < classes; k++) {
      let s = 0;
      for (let j = 0; j < 256; j++) s += emb[n * 256 + j]! * wt(j * classes + k);
      logits[n * classes + k] = s;
    }
  }
  return { emb, logits };
}

const H = 4;
const W = 5;
const BYTES = tinyModel(H, W, 3);

Deno.test("run() returns batched embedding and logits that match a plain computation", async () => {
  const session = await createSession(BYTES, { provider: "cpu", threads: 1 });
  try {
    assert.equal(session.provider, "cpu");
    assert.deepEqual(session.inputNames, ["logmel"]);
    const batch = 3;
    const data = Float32Array.from({ length: batch * H * W }, (_, i) => Math.cos(i));
    const out = await run(session, "logmel", data, [batch, H, W, 1]);
    assert.equal(out.batch, 3);
    assert.equal(out.embeddingSize, 256);
    assert.equal(out.classes, 3);
    const ref = reference(data, batch, H, W, 3);
    for (let i = 0; i < ref.emb.length; i++) assert.ok(Math.abs(ref.emb[i]! - out.embedding[i]!) < 1e-4);
    for (let i = 0; i < ref.logits.length; i++) assert.ok(Math.abs(ref.logits[i]! - out.logits[i]!) < 1e-3);
  } finally {
    await releaseSession(session);
  }
});

Deno.test("run() refuses input whose length does not match its dims, or an unknown input name", async () => {
  const session = await createSession(BYTES, { provider: "cpu" });
  try {
    await assert.rejects(run(session, "logmel", new Float32Array(7), [1, H, W, 1]), RangeError);
    await assert.rejects(
      run(session, "mel", new Float32Array(H * W), [1, H, W, 1]),
      (e) => isSoundalikeError(e, "model_mismatch"),
    );
  } finally {
    await releaseSession(session);
  }
});

Deno.test("createSession() with cuda falls back to CPU when CUDA is unavailable and says so once", async () => {
  resetProviderState();
  const { logger, records } = createMemoryLogger();
  const a = await createSession(BYTES, { provider: "cuda", threads: 1, logger });
  const b = await createSession(BYTES, { provider: "cuda", threads: 1, logger });
  try {
    const lines = records.filter((r) => r.msg.startsWith("onnxruntime:"));
    assert.equal(lines.length, 1, JSON.stringify(records));
    if (a.provider === "cuda") {
      assert.match(lines[0]!.msg, /CUDA/);
      console.log("note: the CUDA provider loaded here, so the fallback path was not exercised");
    } else {
      assert.equal(b.provider, "cpu");
      assert.match(lines[0]!.msg, /unavailable, using CPU/);
      assert.equal(typeof lines[0]!.ctx?.reason, "string");
      // The session really works on the fallback provider.
      const out = await run(a, "logmel", new Float32Array(H * W).fill(1), [1, H, W, 1]);
      assert.equal(out.embedding.length, 256);
    }
  } finally {
    await releaseSession(a);
    await releaseSession(b);
  }
});

Deno.test("createSession() with cpu logs the CPU provider once per logger", async () => {
  const { logger, records } = createMemoryLogger();
  const a = await createSession(BYTES, { provider: "cpu", logger });
  const b = await createSession(BYTES, { provider: "cpu", logger });
  await releaseSession(a);
  await releaseSession(b);
  assert.deepEqual(records.map((r) => r.msg), ["onnxruntime: using the CPU execution provider"]);
});

Deno.test("createSession() reports a missing or corrupt model as ModelMismatch naming the fix", async () => {
  await assert.rejects(
    createSession("/nonexistent/genre.onnx"),
    (e) => isSoundalikeError(e, "model_mismatch") && /genre\.onnx.*deno task export/.test(e.message),
  );
  await assert.rejects(
    createSession(new Uint8Array([1, 2, 3, 4]), { provider: "auto" }),
    (e) => isSoundalikeError(e, "model_mismatch") && /deno task export/.test(e.message),
  );
});

Deno.test("createSession() refuses a thread count that is not a positive integer", async () => {
  await assert.rejects(createSession(BYTES, { threads: 0 }), RangeError);
});

Deno.test("createSession() with auto falls back quietly (info) and run() names a missing output", async () => {
  resetProviderState();
  const { logger, records } = createMemoryLogger();
  const session = await createSession(BYTES, { provider: "auto", logger });
  try {
    if (session.provider === "cpu") {
      assert.deepEqual(records.map((r) => [r.level, r.msg]), [
        ["info", "onnxruntime: CUDA execution provider unavailable, using CPU"],
      ]);
    }
  } finally {
    await releaseSession(session);
  }
  const decoded = onnx.ModelProto.decode(BYTES);
  decoded.graph!.output = (decoded.graph!.output ?? []).filter((v) => v.name !== "logits");
  const noLogits = await createSession(onnx.ModelProto.encode(decoded).finish());
  try {
    await assert.rejects(
      run(noLogits, "logmel", new Float32Array(H * W), [1, H, W, 1]),
      (e) => isSoundalikeError(e, "model_mismatch") && /no logits output/.test(e.message),
    );
  } finally {
    await releaseSession(noLogits);
  }
});
