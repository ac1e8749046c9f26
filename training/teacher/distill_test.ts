import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError, sha256File, silentLogger, writeFileAtomic } from "../../core/mod.ts";
import { setupBackend } from "../backend.ts";
import { tempDir, writeTone } from "../datasets/_fake_audio.ts";
import type { Dataset, DatasetItem } from "../datasets/types.ts";
import { loadRun } from "../run_dir.ts";
import { distill } from "./distill.ts";
import { GENRE_TAG_MAP, mapClasses } from "./targets.ts";
import { encodeTeacherOutput, MSD_TAGS, teacherCachePath } from "./teacher.ts";

await setupBackend({ prefer: "wasm", logger: silentLogger });

/** A mood-shaped dataset of tones (3 artists per cluster so the artist split has every split). */
async function fakeMood(dir: string): Promise<Dataset> {
  const items: DatasetItem[] = [];
  for (let k = 0; k < 12; k++) {
    const path = join(dir, `clip${k}.wav`);
    await writeTone(path, { seconds: 12, freq: k % 2 === 0 ? 0 : 300 + 50 * k, seed: k + 1 });
    items.push({
      path,
      label: `cluster${(k % 2) + 1}`,
      trackId: `t${k}`,
      group: `artist${k}`,
      artist: `artist${k}`,
    });
  }
  return { name: "fake mood", layout: "mirex", classes: ["cluster1", "cluster2"], items, skipped: [] };
}

/** MSD targets: noise clips are "rock", tones "jazz"; 4 patches each. */
async function writeTargets(cache: string, items: readonly DatasetItem[]): Promise<void> {
  for (const [k, it] of items.entries()) {
    const n = 4, tags = new Float32Array(n * MSD_TAGS.length);
    for (let i = 0; i < n; i++) {
      tags[i * MSD_TAGS.length + MSD_TAGS.indexOf(k % 2 === 0 ? "rock" : "jazz")] = 0.9;
    }
    const embedding = Float32Array.from({ length: n * 200 }, (_, j) => (k % 2) + (j % 7) * 0.1);
    const path = teacherCachePath(cache, "msd", await sha256File(it.path));
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, encodeTeacherOutput({ n, tags, embedding }));
  }
}

Deno.test("distill() trains a student from cached teacher targets into a run export can install", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items);
  const out = join(dir.path, "run");
  const r = await distill({
    task: "genre",
    map: GENRE_TAG_MAP,
    mood,
    extra: [],
    targetsDir: join(dir.path, "targets"),
    outDir: out,
    epochs: 1,
    batchSize: 4,
    windowsPerClip: 1,
    variants: 1,
    backend: "wasm",
    logger: silentLogger,
  });
  assert.equal(r.interrupted, false);
  assert.equal(r.history.epochs.length, 1);
  const run = await loadRun(out);
  assert.deepEqual(run.classes, mapClasses(GENRE_TAG_MAP));
  assert.ok(run.metrics !== undefined);
  const cal = JSON.parse(await Deno.readTextFile(join(out, "calibration.json")));
  assert.ok(cal.temperature > 0 && cal.minConfidence >= 0 && cal.minConfidence <= 1);
  assert.equal(run.trainedOn.kind, "dataset");
  const teacher =
    (run.trainedOn as unknown as { teacher: { files: { repository: string; licence: string }[] } })
      .teacher;
  assert.ok(
    teacher.files.every((f) => f.repository === "NeptuneHub/AudioMuse-AI" && /CC BY-NC-SA/.test(f.licence)),
  );
  run.model.dispose();
});

Deno.test("distill() never starts on missing targets: the clip and the command that makes them are named", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items.slice(1));
  await assert.rejects(
    () =>
      distill({
        task: "genre",
        map: GENRE_TAG_MAP,
        mood,
        extra: [],
        targetsDir: join(dir.path, "targets"),
        outDir: join(dir.path, "run"),
        epochs: 1,
        variants: 1,
        backend: "wasm",
        logger: silentLogger,
      }),
    (err) =>
      isSoundalikeError(err, "bad_dataset") && err.message.includes("clip0.wav") &&
      err.message.includes("deno task teacher-targets"),
  );
});
