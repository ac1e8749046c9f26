import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { isSoundalikeError, sha256File, silentLogger, writeFileAtomic } from "../../core/mod.ts";
import { createMemoryLogger } from "../../core/logger.ts";
import { setupBackend } from "../backend.ts";
import { tempDir, writeTone } from "../datasets/_fake_audio.ts";
import type { Dataset, DatasetItem } from "../datasets/types.ts";
import { loadRun, RUN_FILES } from "../run_dir.ts";
import { DEFAULT_SPLIT, MOOD_SPLIT_SEED, splitByGroup } from "../split.ts";
import { ntXentReference } from "../contrastive.ts";
import { labelContrastReference, relationReference } from "./relation.ts";
import { distill, distillLoss } from "./distill.ts";
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

/** MSD targets: noise clips are "rock", tones "jazz" (or every clip `tagOf(k)`); 4 patches each. */
async function writeTargets(
  cache: string,
  items: readonly DatasetItem[],
  tagOf = (k: number) => k % 2 === 0 ? "rock" : "jazz",
): Promise<void> {
  for (const [k, it] of items.entries()) {
    const n = 4, tags = new Float32Array(n * MSD_TAGS.length);
    for (let i = 0; i < n; i++) tags[i * MSD_TAGS.length + MSD_TAGS.indexOf(tagOf(k))] = 0.9;
    const embedding = Float32Array.from({ length: n * 200 }, (_, j) => (k % 2) + (j % 7) * 0.1);
    const path = teacherCachePath(cache, "msd", await sha256File(it.path));
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, encodeTeacherOutput({ n, tags, embedding }));
  }
}

/** One epoch on the fake set, whatever the task. */
const tiny = (dir: string, mood: Dataset) => ({
  mood,
  extra: [],
  targetsDir: join(dir, "targets"),
  epochs: 1,
  batchSize: 4,
  windowsPerClip: 1,
  variants: 1,
  backend: "wasm",
  logger: silentLogger,
});

/** {@linkcode tiny} for the genre student. */
const small = (dir: string, mood: Dataset) => ({
  ...tiny(dir, mood),
  task: "genre" as const,
  map: GENRE_TAG_MAP,
});

Deno.test("distill() trains a student from cached teacher targets into a run export can install", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items);
  const out = join(dir.path, "run");
  const mixtures = { folder: "mix", files: 0, mixtures: { count: 0, seed: 1 } };
  const r = await distill({ ...small(dir.path, mood), outDir: out, extraSources: [mixtures] });
  assert.equal(r.interrupted, false);
  assert.equal(r.history.epochs.length, 1);
  const run = await loadRun(out);
  assert.deepEqual((run.trainedOn as unknown as { extraSources: unknown[] }).extraSources, [mixtures]);
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

Deno.test("distill() for emotion learns the mood set's real clusters, with the teacher's embedding only", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  // The teacher calls every clip rock: labels taken from its tags would put every clip in one class.
  await writeTargets(join(dir.path, "targets"), mood.items, () => "rock");
  const opts = { ...tiny(dir.path, mood), task: "emotion" as const, outDir: join(dir.path, "run") };
  await distill(opts);
  const run = await loadRun(opts.outDir);
  assert.deepEqual(run.classes, ["cluster1", "cluster2"]);
  const splits = JSON.parse(await Deno.readTextFile(join(opts.outDir, "splits.json")));
  const testPerClass = run.classes.map((c) =>
    3 * splits.test.filter((e: { label: string }) => e.label === c).length
  );
  assert.ok(testPerClass.every((n) => n > 0), "the fake set's test split holds both clusters");
  // rows of the confusion matrix are the reference classes: the real clusters, not the teacher's
  assert.deepEqual(run.metrics!.confusion.map((row) => row.reduce((a, b) => a + b, 0)), testPerClass);
  const teacher = (run.trainedOn as unknown as { teacher: { targets: string; tagMap?: unknown } }).teacher;
  assert.match(teacher.targets, /embedding only/);
  assert.equal(teacher.tagMap, undefined);
  run.model.dispose();
  // an extra recording (no cluster: its folder's name as the label, no artist, as `folderItems` gives it)
  // trains the embedding regression only
  const { path } = mood.items[0]!;
  const extra = [{ path, trackId: "extra", group: "extra", label: "mixtures" }];
  await distill({ ...opts, extra, outDir: join(dir.path, "run2") });
  const withExtra = await loadRun(join(dir.path, "run2"));
  assert.equal((withExtra.trainedOn as unknown as { extraRecordings: number }).extraRecordings, 1);
  assert.deepEqual(withExtra.classes, ["cluster1", "cluster2"]);
  withExtra.model.dispose();
});

Deno.test("distill() for emotion with an auxiliary labelled set trains its head on the clips by training artists only", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  const splits = splitByGroup(mood.items, MOOD_SPLIT_SEED, DEFAULT_SPLIT);
  // four quadrant clips: one by a test artist, one by a validation artist, two by artists nobody holds out
  const aux: DatasetItem[] = [];
  const artists = [splits.test[0]!.artist!, splits.validation[0]!.artist!, "someone", "someone else"];
  for (const [k, artist] of artists.entries()) {
    const path = join(dir.path, `q${k}.wav`);
    await writeTone(path, { seconds: 12, freq: 200 + 100 * k, seed: 50 + k });
    aux.push({ path, label: `Q${(k % 4) + 1}`, trackId: `4q:${k}`, group: `artist:${artist}`, artist });
  }
  const quadrants: Dataset = {
    name: "fake 4Q",
    layout: "folder",
    classes: ["Q1", "Q2", "Q3", "Q4"],
    items: aux,
    skipped: [],
  };
  await writeTargets(join(dir.path, "targets"), mood.items, () => "rock");
  const opts = {
    ...tiny(dir.path, mood),
    task: "emotion" as const,
    outDir: join(dir.path, "run"),
    aux: { dataset: quadrants, weight: 0.5, source: { repository: "someone/4q" } },
  };
  // the auxiliary clips' teacher targets are required, not skipped: the missing one is named
  await assert.rejects(
    distill(opts),
    (err: unknown) => isSoundalikeError(err) && err.message.includes("q2.wav"),
  );
  await writeTargets(join(dir.path, "targets"), aux, () => "rock");
  const r = await distill(opts);
  assert.ok(Number.isFinite((r.history.epochs[0] as unknown as { auxLoss: number }).auxLoss));
  const run = await loadRun(opts.outDir);
  assert.deepEqual(run.classes, ["cluster1", "cluster2"]);
  const recorded = run.trainedOn as unknown as { aux: Record<string, unknown>; extraRecordings: number };
  assert.equal(recorded.aux.clips, 2);
  assert.equal(recorded.aux.droppedHeldOutArtists, 2);
  assert.equal(recorded.aux.weight, 0.5);
  assert.deepEqual(recorded.aux.source, { repository: "someone/4q" });
  assert.equal(recorded.extraRecordings, 0);
  const trained = JSON.parse(await Deno.readTextFile(join(opts.outDir, "splits.json"))).train
    .map((e: { trackId: string }) => e.trackId);
  assert.deepEqual(trained.filter((id: string) => id.startsWith("4q:")).sort(), ["4q:2", "4q:3"]);
  run.model.dispose();
  // as extra recordings of the genre student (the teacher labels them), the held-out artists' clips are dropped too
  await distill({ ...small(dir.path, mood), outDir: join(dir.path, "g0"), extra: [aux[0]!, aux[2]!] });
  const genre = await loadRun(join(dir.path, "g0"));
  const extraRecorded = genre.trainedOn as unknown as {
    extraRecordings: number;
    extraDroppedHeldOutArtists: number;
  };
  assert.equal(extraRecorded.extraRecordings, 1);
  assert.equal(extraRecorded.extraDroppedHeldOutArtists, 1);
  genre.model.dispose();
  // the genre student has no second set of its labels
  await assert.rejects(
    distill({ ...small(dir.path, mood), outDir: join(dir.path, "g"), aux: opts.aux }),
    /emotion/,
  );
});

Deno.test("distill() with another seed keeps the mood set's one split: no held-out clip is trained on", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items);
  const splitsOf = async (seed: number) => {
    const outDir = join(dir.path, `run${seed}`);
    await distill({ ...small(dir.path, mood), outDir, seed });
    const s = JSON.parse(await Deno.readTextFile(join(outDir, "splits.json")));
    const ids = (k: string) => s[k].map((e: { trackId: string }) => e.trackId).sort();
    return { train: ids("train"), validation: ids("validation"), test: ids("test") };
  };
  const one = await splitsOf(1), three = await splitsOf(3);
  // seed 3 would split these 12 artists differently (checked below), yet the runs hold out the same clips
  const own = splitByGroup(mood.items, 3, DEFAULT_SPLIT).test.map((it) => it.trackId).sort();
  assert.notDeepEqual(own, one.test);
  assert.deepEqual(three, one);
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

Deno.test("distillLoss() adds the weighted NT-Xent of the pairs, and the neighbourhood KL and supervised contrast of the supervised rows", () => {
  const b = 4, c = 2;
  const emb = tf.randomNormal([b + 2 * c, 6], 0, 1, "float32", 3) as tf.Tensor2D;
  const logits = tf.randomNormal([b + 2 * c, 4], 0, 1, "float32", 4) as tf.Tensor2D;
  const p = tf.softmax(tf.randomNormal([b, 4], 0, 1, "float32", 5)) as tf.Tensor2D;
  const z = tf.randomNormal([b, 2], 0, 1, "float32", 6) as tf.Tensor2D;
  const proj = { w: tf.randomNormal([6, 2], 0, 1, "float32", 7), b: tf.ones([2]) };
  const supEmb = tf.slice(emb, [0, 0], [b, -1]) as tf.Tensor2D;
  const supLogits = tf.slice(logits, [0, 0], [b, -1]) as tf.Tensor2D;
  const sup = distillLoss(supEmb, supLogits, p, z, proj, { embed: 0.5 });
  assert.equal(sup.ntx, undefined);
  assert.equal(sup.rel, undefined);
  assert.equal(sup.sup, undefined);
  const t = distillLoss(emb, logits, p, z, proj, {
    embed: 0.5,
    contrast: { pairs: c, weight: 0.25, temperature: 0.2 },
    relation: { weight: 2, temperature: 0.3 },
    labelContrast: { weight: 0.7, temperature: 0.15 },
  });
  const rows = emb.arraySync().map((r) => Float32Array.from(r));
  const ntx = ntXentReference(rows.slice(b, b + c), rows.slice(b + c), 0.2);
  // the relation term sees the supervised rows only, against the teacher's embeddings
  const rel = relationReference(rows.slice(0, b), z.arraySync().map((r) => Float32Array.from(r)), 0.3);
  assert.ok(rel > 0.01, `${rel}`);
  // the supervised contrast too, by the supervised rows' class distributions
  const lab = labelContrastReference(rows.slice(0, b), p.arraySync().map((r) => Float32Array.from(r)), 0.15);
  assert.ok(lab > 0.5, `${lab}`);
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-4, `${x} vs ${y}`);
  close(t.ce.dataSync()[0]!, sup.ce.dataSync()[0]!);
  close(t.mse.dataSync()[0]!, sup.mse.dataSync()[0]!);
  close(t.ntx!.dataSync()[0]!, ntx);
  close(t.rel!.dataSync()[0]!, rel);
  close(t.sup!.dataSync()[0]!, lab);
  close(t.total.dataSync()[0]!, sup.total.dataSync()[0]! + 0.25 * ntx + 2 * rel + 0.7 * lab);
  // without pairs, or with weight 0, a term is absent however the other is set
  const none = distillLoss(supEmb, supLogits, p, z, proj, {
    embed: 0.5,
    contrast: { pairs: 0, weight: 0.25, temperature: 0.2 },
    relation: { weight: 0, temperature: 0.3 },
    labelContrast: { weight: 0, temperature: 0.15 },
  });
  assert.equal(none.rel, undefined);
  assert.equal(none.sup, undefined);
  // a row without a class distribution (an emotion --extra recording) is left out of the cross-entropy's mean
  const unlabelled = tf.concat([p, tf.zeros([1, 4])]) as tf.Tensor2D;
  const zExtra = tf.concat([z, tf.zeros([1, 2])]) as tf.Tensor2D;
  const embExtra = tf.slice(emb, [0, 0], [b + 1, -1]) as tf.Tensor2D;
  const logitsExtra = tf.slice(logits, [0, 0], [b + 1, -1]) as tf.Tensor2D;
  close(
    distillLoss(embExtra, logitsExtra, unlabelled, zExtra, proj, { embed: 0.5 }).ce.dataSync()[0]!,
    sup.ce.dataSync()[0]!,
  );
  close(none.total.dataSync()[0]!, sup.total.dataSync()[0]!);
});

Deno.test("distillLoss() adds the auxiliary head's cross-entropy over its labelled rows, and leaves those rows out of the regression", () => {
  const emb = tf.tensor2d([[1, 0, 2], [0, 1, -1], [2, 2, 0]]);
  const logits = tf.tensor2d([[0.5, -0.5], [0, 0], [1, 2]]);
  // rows 0 and 1 are mood clips (a cluster, no quadrant); row 2 an auxiliary clip (a quadrant, no cluster)
  const p = tf.tensor2d([[1, 0], [0, 1], [0, 0]]);
  const z = tf.tensor2d([[0, 1], [1, 0], [5, 5]]);
  const proj = { w: tf.tensor2d([[1, 0], [0, 1], [0, 0]]), b: tf.zeros([2]) };
  const head = { w: tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), b: tf.tensor1d([0, 0, 1]) };
  const auxTargets = tf.tensor2d([[0, 0, 0], [0, 0, 0], [0, 1, 0]]);
  const t = distillLoss(emb, logits, p, z, proj, {
    embed: 0.5,
    embedRows: tf.tensor1d([1, 1, 0]),
    aux: { head, targets: auxTargets, weight: 2 },
  });
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  // the head's logits for row 2: [2, 2, 0] + [0, 0, 1] = [2, 2, 1]; its quadrant is the second
  const aux = -(2 - Math.log(2 * Math.exp(2) + Math.exp(1)));
  close(t.aux!.dataSync()[0]!, aux);
  // regression over rows 0 and 1 only: projections [1, 0] and [0, 1] against [0, 1] and [1, 0]
  close(t.mse.dataSync()[0]!, (2 + 2) / 2 / 2);
  const ce = (-(0.5 - Math.log(Math.exp(0.5) + Math.exp(-0.5))) + Math.log(2)) / 2;
  close(t.ce.dataSync()[0]!, ce);
  close(t.total.dataSync()[0]!, ce + 0.5 * 1 + 2 * aux);
  assert.equal(distillLoss(emb, logits, p, z, proj, { embed: 0.5 }).aux, undefined);
});

Deno.test("distill() with a contrastive weight of 0 trains exactly as without the task", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items);
  const a = await distill({ ...small(dir.path, mood), outDir: join(dir.path, "a") });
  const b = await distill({
    ...small(dir.path, mood),
    outDir: join(dir.path, "b"),
    contrastive: { weight: 0 },
  });
  const strip = (h: typeof a.history) => h.epochs.map(({ seconds: _s, examplesPerSecond: _e, ...r }) => r);
  assert.deepEqual(strip(b.history), strip(a.history));
  assert.equal(b.history.epochs[0]!.contrastiveLoss, undefined);
  const cfg = JSON.parse(await Deno.readTextFile(join(dir.path, "b", "config.json")));
  assert.equal(cfg.trainedOn.contrastive, undefined);
});

Deno.test("distill() with the contrastive task monitors the weighted validation NT-Xent and resumes after an interruption", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items);
  const out = join(dir.path, "run");
  const opts = {
    ...small(dir.path, mood),
    outDir: out,
    epochs: 2,
    patience: 5,
    embedWeight: 0.5,
    contrastive: { weight: 0.5, batch: 3 },
  };
  const stop = new AbortController();
  stop.abort();
  const first = await distill({ ...opts, signal: stop.signal });
  assert.equal(first.interrupted, true);
  assert.equal(first.history.epochs.length, 1);
  const r = await distill({ ...opts, resume: true });
  assert.equal(r.interrupted, false);
  assert.equal(r.history.epochs.length, 2);
  for (const e of r.history.epochs) {
    assert.ok(e.contrastiveLoss! > 0 && e.valContrastiveLoss! > 0);
    const emb = (e as unknown as { valEmbeddingLoss: number }).valEmbeddingLoss;
    assert.ok(Math.abs(e.valMonitored! - (e.valLoss + 0.5 * emb + 0.5 * e.valContrastiveLoss!)) < 1e-9);
  }
  const cfg = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
  assert.equal(cfg.trainedOn.contrastive.weight, 0.5);
  assert.equal(cfg.trainedOn.contrastive.batch, 3);
  assert.equal(cfg.training.contrastive.weight, 0.5);
});

Deno.test("distill() keeps the checkpoint of a finished run, so resuming with more epochs trains as the longer run", async () => {
  await using dir = await tempDir("distill_test_");
  const mood = await fakeMood(dir.path);
  await writeTargets(join(dir.path, "targets"), mood.items);
  const opts = { ...small(dir.path, mood), patience: 5, embedWeight: 0.5 };
  const ext = join(dir.path, "ext");
  const short = await distill({ ...opts, outDir: ext, epochs: 1 });
  assert.equal(short.history.epochs.length, 1);
  assert.ok((await Deno.stat(join(ext, RUN_FILES.checkpoint, RUN_FILES.state))).isFile);
  const mse = async (run: string) =>
    JSON.parse(await Deno.readTextFile(join(dir.path, run, RUN_FILES.metrics))).embeddingMse as number;
  const finishedMse = await mse("ext");
  // resumed with nothing left to train: the same model and projection are evaluated again
  const again = createMemoryLogger();
  await distill({ ...opts, outDir: ext, epochs: 1, resume: true, logger: again.logger });
  assert.deepEqual(again.records.find((r) => r.msg === "Resuming")?.ctx, { epoch: 1, bestEpoch: 1 });
  assert.ok(Math.abs((await mse("ext")) - finishedMse) < 1e-6, `${await mse("ext")} vs ${finishedMse}`);
  const resumed = createMemoryLogger();
  const extended = await distill({ ...opts, outDir: ext, epochs: 2, resume: true, logger: resumed.logger });
  assert.deepEqual(resumed.records.find((r) => r.msg === "Resuming")?.ctx, { epoch: 1, bestEpoch: 1 });
  const long = await distill({ ...opts, outDir: join(dir.path, "long"), epochs: 2 });
  assert.equal(extended.history.epochs.length, 2);
  // the same epochs up to float32 round-off (the optimiser's state goes through a file)
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
  extended.history.epochs.forEach((e, k) => {
    const l = long.history.epochs[k]!;
    assert.equal(e.epoch, l.epoch);
    for (const key of ["loss", "valLoss", "valMonitored", "accuracy", "valAccuracy"] as const) {
      assert.ok(close(e[key]!, l[key]!), `epoch ${e.epoch} ${key}: ${e[key]} vs ${l[key]}`);
    }
  });
  const weights = async (run: string) =>
    new Float32Array((await Deno.readFile(join(dir.path, run, RUN_FILES.weights))).buffer);
  const [a, b] = [await weights("ext"), await weights("long")];
  assert.equal(a.length, b.length);
  assert.ok(a.every((x, i) => close(x, b[i]!)));
  // a one-epoch run's weights differ from both, so the comparison can fail
  const once = await distill({ ...opts, outDir: join(dir.path, "once"), epochs: 1 });
  assert.equal(once.history.epochs.length, 1);
  assert.ok(!(await weights("once")).every((x, i) => close(x, b[i]!)));
});

for (
  const [name, term, loss, valLoss, recorded] of [
    [
      "the neighbourhood term",
      { relation: { weight: 2, temperature: 0.2 } },
      "relationLoss",
      "valRelationLoss",
      (
        c: { trainedOn: { teacher: { relation: unknown } } },
      ) => c.trainedOn.teacher.relation,
    ],
    [
      "the supervised contrast",
      { labelContrast: { weight: 2, temperature: 0.2 } },
      "labelContrastLoss",
      "valLabelContrastLoss",
      (c: { trainedOn: { labelContrast: unknown } }) => c.trainedOn.labelContrast,
    ],
  ] as const
) {
  Deno.test(`distill() with ${name} monitors its weighted validation loss, records it, and will not resume an interrupted run without it`, async () => {
    await using dir = await tempDir("distill_test_");
    const mood = await fakeMood(dir.path);
    await writeTargets(join(dir.path, "targets"), mood.items);
    const out = join(dir.path, "run");
    const plain = { ...small(dir.path, mood), outDir: out, embedWeight: 0.5 };
    const stop = new AbortController();
    stop.abort();
    assert.equal((await distill({ ...plain, signal: stop.signal })).interrupted, true);
    const opts = { ...plain, ...term };
    await assert.rejects(() => distill({ ...opts, resume: true }), /made with other data or settings/);
    const r = await distill(opts);
    for (const e of r.history.epochs) {
      const rec = e as unknown as Record<string, number>;
      assert.ok(rec[loss]! > 0 && rec[valLoss]! > 0, `${rec[loss]} ${rec[valLoss]}`);
      assert.ok(
        Math.abs(e.valMonitored! - (e.valLoss + 0.5 * rec.valEmbeddingLoss! + 2 * rec[valLoss]!)) < 1e-9,
      );
    }
    const cfg = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assert.deepEqual(recorded(cfg), { weight: 2, temperature: 0.2 });
  });
}
