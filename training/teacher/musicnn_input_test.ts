import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeAudio, isSoundalikeError } from "../../core/mod.ts";
import {
  MUSICNN_BANDS,
  MUSICNN_PATCH_FRAMES,
  musicnnFrameCount,
  musicnnMelFrames,
  musicnnPatches,
  symmetricHannWindow,
} from "./musicnn_input.ts";
import { MSD_TAGS, openTeacher, verifyTeacherFiles } from "./teacher.ts";

const SHARED_CLIP = new URL("../../../shared/data/fma_small/000/000002.mp3", import.meta.url).pathname;
const TEACHER_DIR = Deno.env.get("SOUNDALIKE_TEACHER_DIR") ??
  join(new URL("../../.cache/teacher", import.meta.url).pathname);

Deno.test("symmetricHannWindow() is numpy's hanning(N): zero at both ends, 1 in the middle of an odd length", () => {
  const w = symmetricHannWindow(5);
  assert.deepEqual(Array.from(w, (v) => +v.toFixed(12)), [0, 0.5, 1, 0.5, 0]);
  const w512 = symmetricHannWindow(512);
  assert.equal(w512[0], 0);
  assert.ok(Math.abs(w512[511]!) < 1e-15);
});

Deno.test("musicnnFrameCount() counts Essentia's centred frames: 1 + floor(n / 256)", () => {
  assert.equal(musicnnFrameCount(0), 0);
  assert.equal(musicnnFrameCount(1), 1);
  assert.equal(musicnnFrameCount(256), 2);
  assert.equal(musicnnFrameCount(16000 * 3), 188);
});

Deno.test("musicnnMelFrames(): silence is 0 after log10(1 + 10000 x); a 1 kHz tone peaks in its band", () => {
  const silent = musicnnMelFrames(new Float32Array(4096));
  assert.ok(silent.data.every((v) => v === 0));
  const tone = Float32Array.from(
    { length: 16000 },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000),
  );
  const mel = musicnnMelFrames(tone);
  const mid = Math.floor(mel.frames / 2);
  const row = mel.data.subarray(mid * MUSICNN_BANDS, (mid + 1) * MUSICNN_BANDS);
  const peak = row.indexOf(Math.max(...row));
  // 1000 Hz on the Slaney scale is mel 15; with 96 bands over 0-8000 Hz (mel 0..~45.2) that is band ~31
  assert.ok(peak >= 29 && peak <= 33, `peak band ${peak}`);
});

Deno.test("musicnnPatches(): non-overlapping 187-frame patches; a clip shorter than one patch is refused by name", () => {
  const p = musicnnPatches(new Float32Array(16000 * 7).fill(0.1));
  assert.equal(p.n, 2);
  assert.equal(p.data.length, 2 * MUSICNN_PATCH_FRAMES * MUSICNN_BANDS);
  assert.throws(
    () => musicnnPatches(new Float32Array(16000 * 2), "short.wav"),
    (err) =>
      isSoundalikeError(err, "clip_too_short") && /short\.wav/.test(err.message) &&
      /2\.00 s/.test(err.message),
  );
});

Deno.test("the MSD teacher on these features tags a real Hip-Hop clip Hip-Hop about 0.84 (ONNX copy's figure)", async (t) => {
  try {
    await Deno.stat(SHARED_CLIP);
  } catch {
    console.log(`skipped: ../shared is absent (${SHARED_CLIP})`);
    return;
  }
  try {
    await verifyTeacherFiles("msd", TEACHER_DIR);
  } catch (err) {
    console.log(
      `skipped: no MSD teacher in ${TEACHER_DIR} (deno task fetch-teacher): ${(err as Error).message}`,
    );
    return;
  }
  const audio = await decodeAudio(SHARED_CLIP, { sampleRate: 16000 });
  const patches = musicnnPatches(audio.samples);
  assert.equal(patches.n, 10);
  const teacher = await openTeacher("msd", TEACHER_DIR);
  try {
    const out = await teacher.run(patches);
    assert.equal(out.embedding.length, 10 * 200);
    const mean = MSD_TAGS.map((_, j) => {
      let s = 0;
      for (let i = 0; i < out.n; i++) s += out.tags[i * MSD_TAGS.length + j]!;
      return s / out.n;
    });
    const hiphop = mean[MSD_TAGS.indexOf("Hip-Hop")]!;
    await t.step(`mean Hip-Hop ${hiphop.toFixed(3)} (reference 0.838)`, () => {
      assert.ok(Math.abs(hiphop - 0.838) < 0.02, `Hip-Hop ${hiphop}`);
      assert.equal(mean.indexOf(Math.max(...mean)), MSD_TAGS.indexOf("Hip-Hop"));
    });
  } finally {
    await teacher.close();
  }
});
