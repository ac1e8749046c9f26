import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_FEATURE_PARAMS, logMelSpectrogram } from "../core/audio/features.ts";
import { decodeAudio, type DecodedAudio, encodeMp3 } from "../core/audio/ffmpeg.ts";
import {
  decodeFeatures,
  encodeFeatures,
  extractFeatures,
  hopStarts,
  segmentAudio,
} from "./features_cache.ts";
import { tempDir, writeGarbage, writeTone } from "./datasets/_fake_audio.ts";

const audio = (seconds: number, rate = 16000): DecodedAudio => {
  const samples = Float32Array.from(
    { length: Math.round(seconds * rate) },
    (_, i) => Math.sin(i * 0.05 + i / rate) * 0.3,
  );
  return { samples, sampleRate: rate, seconds, truncated: false };
};

Deno.test("hopStarts() lists every full window at the hop", () => {
  assert.deepEqual(hopStarts(30, 5, 10), [0, 5, 10, 15, 20]);
  assert.deepEqual(hopStarts(12, 5, 10), [0, 2]);
  assert.deepEqual(hopStarts(10.5, 5, 10), [0]);
  assert.deepEqual(hopStarts(32, 5, 10), [0, 5, 10, 15, 20, 22]);
  assert.deepEqual(hopStarts(9, 5, 10), []);
  assert.throws(() => hopStarts(30, 0, 10), RangeError);
});

Deno.test("segmentAudio() uses core's three windows for inference and hop windows for training", () => {
  const a = audio(30);
  const inf = segmentAudio(a, "inference", 10);
  assert.equal(inf.length, 3);
  const train = segmentAudio(a, { hopSeconds: 5 }, 10);
  assert.equal(train.length, 5);
  assert.ok(train.every((s) => s.length === 160000));
  assert.deepEqual(train[2]!.subarray(0, 5), a.samples.subarray(160000, 160005));
  // 3..10 s clips are looped by core into one training segment
  assert.equal(segmentAudio(audio(4), { hopSeconds: 5 }, 10).length, 1);
});

Deno.test("encodeFeatures()/decodeFeatures() round-trip and reject damaged bytes", () => {
  const segs = [
    { data: Float32Array.from([1, 2, 3, 4, 5, 6]), nMels: 2, frames: 3 },
    { data: Float32Array.from([7, 8, 9, 10, 11, 12]), nMels: 2, frames: 3 },
  ];
  const bytes = encodeFeatures(segs);
  assert.deepEqual(decodeFeatures(bytes), segs);
  assert.equal(decodeFeatures(bytes.slice(0, bytes.length - 4)), undefined);
  assert.equal(decodeFeatures(new Uint8Array(8)), undefined);
});

Deno.test("extractFeatures() decodes with core, caches by content, and skips unusable files", async () => {
  await using dir = await tempDir("feat");
  const good = join(dir.path, "a", "good.wav");
  const copy = join(dir.path, "b", "same_content.wav");
  await writeTone(good, { seconds: 12, freq: 440 });
  await writeTone(copy, { seconds: 12, freq: 440 });
  await writeGarbage(join(dir.path, "a", "bad.wav"));
  await writeTone(join(dir.path, "a", "silent.wav"), { seconds: 5, amplitude: 0 });
  const item = (path: string) => ({ path, label: "a", trackId: path, group: path });
  const cacheDir = join(dir.path, "cache");
  const items = [item(good), item(join(dir.path, "a", "bad.wav")), item(join(dir.path, "a", "silent.wav"))];
  const first = await extractFeatures(items, {
    params: DEFAULT_FEATURE_PARAMS,
    policy: { hopSeconds: 5 },
    cacheDir,
  });
  assert.equal(first.tracks.length, 1);
  assert.equal(first.tracks[0]!.segments.length, 2); // 12 s: windows at 0 and 2 s
  assert.equal(first.tracks[0]!.segments[0]!.frames, 200);
  assert.deepEqual(first.skipped.map((s) => s.reason.split(":")[0]).sort(), [
    "silent_clip",
    "unreadable_audio",
  ]);
  // same features as computing directly from the decoded samples
  const decoded = await decodeAudio(good, { sampleRate: 16000 });
  const direct = logMelSpectrogram(segmentAudio(decoded, { hopSeconds: 5 }, 10)[0]!, DEFAULT_FEATURE_PARAMS);
  assert.deepEqual(direct.data, first.tracks[0]!.segments[0]!.data);
  // a second pass (and a file with the same content) is served from the cache without decoding
  const fail = () => Promise.reject(new Error("decoded despite the cache"));
  const second = await extractFeatures([item(copy)], {
    params: DEFAULT_FEATURE_PARAMS,
    policy: { hopSeconds: 5 },
    cacheDir,
    decode: fail,
  });
  assert.deepEqual(second.tracks[0]!.segments, first.tracks[0]!.segments);
  // another policy is another cache entry
  await assert.rejects(
    extractFeatures([item(good)], {
      params: DEFAULT_FEATURE_PARAMS,
      policy: "inference",
      cacheDir,
      decode: fail,
    }),
    /decoded despite the cache/,
  );
});

Deno.test("extractFeatures() skips files shorter than an item's minSeconds", async () => {
  const items = [{ path: "x.wav", label: "a", trackId: "x", group: "x", minSeconds: 10, maxSeconds: 10 }];
  const r = await extractFeatures(items, {
    params: DEFAULT_FEATURE_PARAMS,
    policy: "inference",
    decode: () => Promise.resolve(audio(6)),
  });
  assert.equal(r.tracks.length, 0);
  assert.match(r.skipped[0]!.reason, /shorter than 10 s \(6\.0 s\)/);
});

Deno.test("extractFeatures() skips a truncated MP3 of the mood set (decodes shorter than 20 s) and names it", async () => {
  await using dir = await tempDir("trunc");
  const tone = Float32Array.from({ length: 16000 * 30 }, (_, i) => 0.3 * Math.sin(i * 0.07));
  const full = join(dir.path, "001.mp3");
  await encodeMp3({ sampleRate: 16000, channels: [tone] }, full, { bitrateKbps: 64 });
  const bytes = await Deno.readFile(full);
  const cut = join(dir.path, "002.mp3");
  await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
  const item = (path: string) => ({ path, label: "cluster1", trackId: path, group: path, minSeconds: 20 });
  const r = await extractFeatures([item(full), item(cut)], {
    params: DEFAULT_FEATURE_PARAMS,
    policy: "inference",
  });
  assert.equal(r.tracks.length, 1);
  assert.equal(r.skipped.length, 1);
  assert.equal(r.skipped[0]!.path, cut);
  assert.match(r.skipped[0]!.reason, /^shorter than 20 s \(1\d\.\d s\)$/);
});
