import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError } from "../../core/mod.ts";
import {
  cachedTeacherOutput,
  checkTeacherShape,
  decodeTeacherOutput,
  encodeTeacherOutput,
  readTeacherOutput,
  stridedPatchIndices,
  type Teacher,
  teacherCachePath,
  verifyTeacherFiles,
} from "./teacher.ts";

Deno.test("verifyTeacherFiles(): a missing file and a file with another hash are named with the fix", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => verifyTeacherFiles("msd", dir),
      (err) =>
        isSoundalikeError(err, "model_mismatch") && err.message.includes(join(dir, "msd-musicnn-1.onnx")) &&
        err.message.includes("deno task fetch-teacher"),
    );
    await Deno.writeTextFile(join(dir, "msd-musicnn-1.onnx"), "not the model");
    await assert.rejects(
      () => verifyTeacherFiles("msd", dir),
      (err) =>
        isSoundalikeError(err, "model_mismatch") && /has sha256 [0-9a-f]{64}, expected/.test(err.message) &&
        err.message.includes("NeptuneHub/AudioMuse-AI"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkTeacherShape() refuses an output of the wrong shape, naming both shapes", () => {
  checkTeacherShape("msd", "embedding", [4, 200], [4, 200]);
  assert.throws(
    () => checkTeacherShape("mtt", "tag output", [4, 49], [4, 50]),
    (err) => isSoundalikeError(err, "model_mismatch") && /\[4, 49\], expected \[4, 50\]/.test(err.message),
  );
});

Deno.test("teacher cache entries round-trip; a truncated or foreign entry is refused by name", () => {
  const out = {
    n: 2,
    tags: Float32Array.from({ length: 100 }, (_, i) => i / 100),
    embedding: new Float32Array(400).fill(0.5),
  };
  const back = decodeTeacherOutput(encodeTeacherOutput(out), "x.bin");
  assert.equal(back.n, 2);
  assert.deepEqual(back.tags, out.tags);
  assert.deepEqual(back.embedding, out.embedding);
  const bytes = encodeTeacherOutput(out);
  assert.throws(
    () => decodeTeacherOutput(bytes.subarray(0, bytes.length - 4), "/c/ab/entry.bin"),
    (err) =>
      isSoundalikeError(err, "bad_dataset") && /\/c\/ab\/entry\.bin is truncated/.test(err.message) &&
      /delete it/.test(err.message),
  );
  assert.throws(() => decodeTeacherOutput(new Uint8Array(20), "y.bin"), /not a teacher cache entry/);
});

Deno.test("stridedPatchIndices() covers every 10 s window of a 30 s clip with stride 3", () => {
  assert.deepEqual(stridedPatchIndices(10, 3), [1, 4, 7]);
  assert.deepEqual(stridedPatchIndices(10, 1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(stridedPatchIndices(1, 3), [0]);
});

Deno.test("cachedTeacherOutput() computes once, then reads the entry; readTeacherOutput() names a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const audio = join(dir, "a.wav");
    await Deno.writeTextFile(audio, "pretend audio");
    let runs = 0;
    const teacher: Teacher = {
      id: "mtt",
      files: [],
      run: (
        p,
      ) => (runs++,
        Promise.resolve({
          n: p.n,
          tags: new Float32Array(p.n * 50).fill(p.n),
          embedding: new Float32Array(0),
        })),
      close: () => Promise.resolve(),
    };
    const patches = () => Promise.resolve({ n: 10, data: new Float32Array(10 * 187 * 96) });
    const a = await cachedTeacherOutput(teacher, audio, patches, join(dir, "cache"), 3);
    assert.equal(a.hit, false);
    assert.equal(a.output.n, 3); // patches 1, 4, 7
    const b = await cachedTeacherOutput(teacher, audio, patches, join(dir, "cache"), 3);
    assert.equal(b.hit, true);
    assert.equal(runs, 1);
    await assert.rejects(
      () => readTeacherOutput(join(dir, "cache"), "msd", "ab".repeat(32), audio),
      (err) =>
        isSoundalikeError(err, "bad_dataset") && err.message.includes("deno task teacher-targets") &&
        err.message.includes(audio),
    );
    assert.ok(teacherCachePath("c", "mtt", "ab".repeat(32), 3).endsWith("-mtt-s3-v1.bin"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
