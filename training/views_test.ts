import assert from "node:assert/strict";
import { basename, join } from "node:path";
import {
  computeBandStats,
  DEFAULT_FEATURE_PARAMS,
  logMelSpectrogram,
  normalizeLogMel,
} from "../core/audio/features.ts";
import { decodeAudio } from "../core/audio/ffmpeg.ts";
import { snrDb } from "../core/audio/augment.ts";
import { tempDir, writeTone } from "./datasets/_fake_audio.ts";
import { seededRandom } from "./split.ts";
import {
  applySpec,
  AUGMENT_RANGES,
  decodeMelPower,
  drawAugmentSpec,
  encodeMelPower,
  fixedPair,
  loadClipViews,
  randomPair,
  statsWindows,
  variantSpec,
  windowAt,
} from "./views.ts";

Deno.test("variantSpec() is clean for variant 0 and a seeded draw within the ranges otherwise", () => {
  assert.equal(variantSpec(1, "001", 0), null);
  assert.deepEqual(variantSpec(1, "001", 2), variantSpec(1, "001", 2));
  assert.notDeepEqual(variantSpec(1, "001", 2), variantSpec(1, "001", 3));
  assert.notDeepEqual(variantSpec(1, "001", 2), variantSpec(2, "001", 2));
  const specs = Array.from({ length: 400 }, (_, i) => drawAugmentSpec(seededRandom(i)));
  assert.ok(specs.every((s) => Math.abs(s.gainDb) <= 10));
  const share = (f: (s: typeof specs[0]) => boolean) => specs.filter(f).length / specs.length;
  assert.ok(Math.abs(share((s) => s.codec !== null) - AUGMENT_RANGES.codec.p) < 0.08);
  assert.ok(Math.abs(share((s) => s.noise !== null) - AUGMENT_RANGES.noise.p) < 0.08);
  for (const s of specs) {
    if (s.codec) assert.ok(s.codec.bitrateKbps >= 48 && s.codec.bitrateKbps <= 128, `${s.codec.bitrateKbps}`);
    if (s.noise) assert.ok(s.noise.snrDb >= 15 && s.noise.snrDb <= 40);
  }
  assert.ok(specs.some((s) => s.codec?.codec === "opus") && specs.some((s) => s.codec?.codec === "mp3"));
});

Deno.test("applySpec() applies the gain, limits what would clip, and adds noise at the drawn SNR", () => {
  const x = Float32Array.from({ length: 16000 }, (_, i) => 0.5 * Math.sin(i * 0.1));
  const spec = { gainDb: 9, lowpassHz: null, highpassHz: null, noise: null, codec: null };
  const loud = applySpec(x, 16000, spec);
  assert.ok(loud.every((v) => Math.abs(v) <= 0.98 + 1e-6));
  const noisy = applySpec(x, 16000, { ...spec, gainDb: 0, noise: { color: "pink", snrDb: 20, seed: 4 } });
  assert.ok(Math.abs(snrDb(x, noisy) - 20) < 1e-3);
});

Deno.test("encodeMelPower()/decodeMelPower() round-trip and reject damaged bytes", async () => {
  await using dir = await tempDir("views");
  const path = join(dir.path, "a.wav");
  await writeTone(path, { seconds: 11, freq: 440 });
  const r = await loadClipViews([{ path, label: "a", trackId: "a", group: "a" }], {
    params: DEFAULT_FEATURE_PARAMS,
    variants: 1,
    seed: 1,
  });
  const mp = r.clips[0]!.variants[0]!;
  const bytes = encodeMelPower(mp);
  assert.deepEqual(decodeMelPower(bytes), mp);
  assert.equal(decodeMelPower(bytes.subarray(0, bytes.length - 8)), undefined);
});

Deno.test("loadClipViews() renders variants once (cached), and windows equal inference's log-mels", async () => {
  await using dir = await tempDir("views");
  const a = join(dir.path, "a.wav"), silent = join(dir.path, "s.wav"), short = join(dir.path, "short.wav");
  await writeTone(a, { seconds: 12, freq: 660, amplitude: 0.3 });
  await writeTone(silent, { seconds: 12, amplitude: 0 });
  await writeTone(short, { seconds: 6, freq: 330 });
  // ids are fixed names, not the temporary paths: an augmentation is a function of (seed, id, variant),
  // and a random folder name would draw a different (sometimes nearly clean) variant each run
  const item = (path: string, minSeconds?: number) => ({
    path,
    label: "x",
    trackId: basename(path),
    group: basename(path),
    ...(minSeconds === undefined ? {} : { minSeconds }),
  });
  const cacheDir = join(dir.path, "cache");
  const opts = { params: DEFAULT_FEATURE_PARAMS, variants: 4, seed: 5, cacheDir };
  const r = await loadClipViews([item(a), item(silent), item(short, 10)], opts);
  assert.equal(r.clips.length, 1);
  assert.deepEqual(r.skipped.map((s) => s.reason.split(":")[0]!.split(" (")[0]).sort(), [
    "shorter than 10 s",
    "silent_clip",
  ]);
  const clip = r.clips[0]!;
  assert.equal(clip.variants.length, 4);
  assert.ok(clip.variants.every((v) => v.frames >= 200));
  // the clean variant's window at frame 0 is exactly the log-mel inference computes for 0-10 s
  const decoded = await decodeAudio(a, { sampleRate: 16000 });
  const stats = computeBandStats(statsWindows(clip.variants[0]!, DEFAULT_FEATURE_PARAMS, 200));
  const direct = normalizeLogMel(
    logMelSpectrogram(decoded.samples.subarray(0, 160000)),
    stats.mean,
    stats.std,
  );
  const w = windowAt(clip, 0, 0, DEFAULT_FEATURE_PARAMS, 200, stats);
  assert.ok(w.data.every((v, i) => Math.abs(v - direct.data[i]!) < 1e-4));
  // augmented variants differ from the clean one
  const w1 = windowAt(clip, 1, 0, DEFAULT_FEATURE_PARAMS, 200, stats);
  assert.ok(w1.data.some((v, i) => Math.abs(v - w.data[i]!) > 0.05));
  // a second call reads every variant from the cache (the file's content is the key)
  const files = async () => {
    let n = 0;
    for await (const d of Deno.readDir(cacheDir)) {
      for await (const _ of Deno.readDir(join(cacheDir, d.name))) {
        n++;
      }
    }
    return n;
  };
  assert.equal(await files(), 4);
  const again = await loadClipViews([item(a)], opts);
  assert.deepEqual(again.clips[0]!.variants, clip.variants);
  assert.equal(await files(), 4);
  // pairs: two windows of the clip, different variants, within the shift
  const [p, q] = randomPair(clip, DEFAULT_FEATURE_PARAMS, 200, 20, seededRandom(3), stats);
  assert.equal(p.frames, 200);
  assert.equal(q.frames, 200);
  const [f0] = fixedPair(clip, DEFAULT_FEATURE_PARAMS, 200, stats, 10);
  assert.deepEqual(f0.data, windowAt(clip, 0, 20, DEFAULT_FEATURE_PARAMS, 200, stats).data); // middle of 240 frames
});
