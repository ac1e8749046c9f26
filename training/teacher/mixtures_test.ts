import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeAudio } from "../../core/mod.ts";
import { tempDir, writeTone } from "../datasets/_fake_audio.ts";
import type { DatasetItem } from "../datasets/types.ts";
import {
  mixPair,
  MIXTURE_MANIFEST,
  MIXTURE_SAMPLE_RATE,
  pickPairs,
  readMixtureManifest,
  writeMixtures,
} from "./mixtures.ts";

const item = (path: string, group: string): DatasetItem => ({ path, label: "c", trackId: path, group });
const sine = (freq: number, n: number, amp: number) =>
  Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / MIXTURE_SAMPLE_RATE));
const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i]!, 0);
const rmsDb = (x: Float32Array) => 10 * Math.log10(dot(x, x) / x.length);

Deno.test("pickPairs() draws distinct pairs of clips by different artists, the same for the same seed", () => {
  const items = ["a", "a", "b", "c", "c", "d"].map((g, i) => item(`${i}.wav`, g));
  const pairs = pickPairs(items, 10, 3);
  assert.equal(pairs.length, 10);
  assert.equal(new Set(pairs.map(([i, j]) => `${i}:${j}`)).size, 10);
  for (const [i, j] of pairs) {
    assert.ok(i < j);
    assert.notEqual(items[i]!.group, items[j]!.group);
  }
  assert.deepEqual(pickPairs(items, 10, 3), pairs);
  assert.notDeepEqual(pickPairs(items, 10, 4), pairs);
  // 15 pairs of 6 clips, minus the 2 within an artist
  assert.equal(pickPairs(items, 13, 1).length, 13);
  assert.throws(() => pickPairs(items, 14, 1), /Only 13 pairs of clips by different artists: 14 mixtures/);
});

Deno.test("mixPair() sums both recordings at the asked level difference, at -20 dBFS, within the limiter's ceiling", () => {
  const n = MIXTURE_SAMPLE_RATE;
  // two orthogonal tones at very different levels: the mixture does not keep the sources' levels
  const a = sine(440, n, 0.9), b = sine(1000, n + 500, 0.01);
  for (const gainDb of [-6, 0, 6]) {
    const m = mixPair(a, b, gainDb, MIXTURE_SAMPLE_RATE);
    assert.equal(m.length, n, "as long as the shorter");
    assert.ok(Math.abs(rmsDb(m) - -20) < 0.2, `${rmsDb(m)}`);
    assert.ok(m.every((v) => Math.abs(v) <= 0.98));
    // each source's share, by projection on the (orthogonal) tones
    const share = (s: Float32Array) =>
      dot(m, s.subarray(0, n)) / Math.sqrt(dot(s.subarray(0, n), s.subarray(0, n)));
    const ratioDb = 20 * Math.log10(share(b) / share(a));
    assert.ok(Math.abs(ratioDb - gainDb) < 0.2, `gain ${gainDb}: ${ratioDb}`);
  }
});

Deno.test("writeMixtures() writes 16 kHz WAV mixtures and a manifest naming both sources; never a reserved clip", async () => {
  await using dir = await tempDir("mixtures_test_");
  const items: DatasetItem[] = [];
  for (const [k, freq] of [220, 330, 550, 770].entries()) {
    const path = join(dir.path, "clips", `${k + 1}.wav`);
    await writeTone(path, { seconds: 2 + k, freq, sampleRate: 22050 });
    items.push(item(path, `artist${k}`));
  }
  const out = join(dir.path, "mix");
  const manifest = await writeMixtures({ items, count: 3, seed: 1, outDir: out, source: { split: "train" } });
  assert.equal(manifest.mixtures.length, 3);
  assert.deepEqual(manifest.source, { split: "train" });
  const onDisk = JSON.parse(await Deno.readTextFile(join(out, MIXTURE_MANIFEST)));
  assert.deepEqual(onDisk, manifest);
  assert.deepEqual(await readMixtureManifest(out), manifest);
  assert.equal(await readMixtureManifest(join(dir.path, "clips")), undefined, "not a mixtures folder");
  for (const m of manifest.mixtures) {
    const audio = await decodeAudio(join(out, m.file), { sampleRate: MIXTURE_SAMPLE_RATE });
    const shorter = Math.min(...[m.a, m.b].map((id) => 2 + items.findIndex((it) => it.trackId === id)));
    assert.ok(Math.abs(audio.seconds - shorter) < 0.01, `${m.file}: ${audio.seconds} s`);
    assert.ok(Math.abs(m.gainDb) <= 6);
    assert.notEqual(m.a, m.b);
  }
  const reserved = join(dir.path, "clips", "010.wav");
  await writeTone(reserved, { seconds: 2 });
  await assert.rejects(
    writeMixtures({
      items: [...items, item(reserved, "x")],
      count: 2,
      seed: 1,
      outDir: join(dir.path, "mix2"),
      source: {},
    }),
    /Reserved clips are never mixed: .*010\.wav/,
  );
});
