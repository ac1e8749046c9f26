/**
 * Vectors for the scale benchmark (`bench/scale_bench.ts`), never committed (written under `.cache/`):
 *
 * - **Seeds**: real clip embeddings, the shipped models run on every recording in `../shared/data`
 *   (music and non-music) at many offsets, each excerpt augmented (gain, pink noise at 10-30 dB SNR,
 *   a low- or high-pass): {@linkcode embedSeeds}.
 * - **realistic** tracks ({@linkcode realisticTrack}): a mix of two seeds (the first weighs 0.5-1) plus
 *   Gaussian noise per 256-d block (norm ~0.35 before the block is made unit again), each window with
 *   its own noise: a catalog of millions shaped like the models' embedding space.
 * - **clustered** tracks ({@linkcode clusteredTrack}): `tracks / 100` random unit-block centres, each
 *   track a centre plus Gaussian noise (as `bench/search_bench.ts`'s clustered data).
 * @module
 */
import { addNoise, applyGainDb, biquad, excerpt, pinkNoise } from "../core/audio/augment.ts";
import { cutSegments } from "../core/audio/segments.ts";
import { decodeAudio } from "../core/audio/ffmpeg.ts";
import { createEmbedder } from "../core/model/embed.ts";
import { loadManifest } from "../core/model/manifest.ts";
import { mulberry32 } from "../core/util/random.ts";

/** Clip vector size. */
export const DIM = 2304;
const BLOCK = 256;
const SR = 16000;

/** A standard normal generator over a seeded uniform one. */
export function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function unitBlocks(v: Float32Array): void {
  for (let b = 0; b < v.length; b += BLOCK) {
    let s = 0;
    for (let j = b; j < b + BLOCK; j++) s += v[j]! * v[j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = b; j < b + BLOCK; j++) v[j]! *= inv;
  }
}

/**
 * Embeds excerpts of every audio file under `dir` (recursively), `perFile` augmented excerpts each.
 *
 * @returns `n x 2304` floats.
 */
export async function embedSeeds(dir: string, modelsDir: string, perFile: number): Promise<Float32Array> {
  const files: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else if (/\.(mp3|ogg|wav|flac)$/i.test(e.name)) files.push(`${d}/${e.name}`);
    }
  };
  await walk(dir);
  files.sort();
  const manifest = await loadManifest(modelsDir);
  const embedder = await createEmbedder({ manifest, modelsDir, provider: "cpu", threads: 2 });
  const rand = mulberry32(11);
  const out: Float32Array[] = [];
  for (const [fi, path] of files.entries()) {
    let audio;
    try {
      audio = await decodeAudio(path, { sampleRate: SR, maxSeconds: 600 });
    } catch {
      continue;
    }
    const clips: Float32Array[][] = [];
    for (let i = 0; i < perFile; i++) {
      const len = Math.min(audio.seconds, 10 + rand() * 20);
      let x = excerpt(audio.samples, SR, rand() * Math.max(0, audio.seconds - len), len);
      x = applyGainDb(x, -6 + 12 * rand());
      if (rand() < 0.7) x = addNoise(x, pinkNoise(x.length, fi * 1000 + i + 1), 10 + 20 * rand());
      if (rand() < 0.5) x = biquad(x, SR, rand() < 0.5 ? "lowpass" : "highpass", rand() < 0.5 ? 3000 : 200);
      try {
        clips.push(cutSegments({ samples: x, sampleRate: SR, seconds: x.length / SR, truncated: false }));
      } catch {
        // too short or silent after augmentation
      }
    }
    for (let i = 0; i < clips.length; i += 16) out.push(...await embedder.embedMany(clips.slice(i, i + 16)));
    console.error(`seeds: ${path.split("/").pop()} -> ${clips.length} (${out.length} in all)`);
  }
  await embedder.close();
  const all = new Float32Array(out.length * DIM);
  out.forEach((v, i) => all.set(v, i * DIM));
  return all;
}

/** Makes realistic tracks from seeds: see the module doc. */
export function realisticTrack(seeds: Float32Array, seed: number): (out: Float32Array) => void {
  const n = seeds.length / DIM;
  const rand = mulberry32(seed);
  const g = gaussian(rand);
  const sigma = 0.35 / Math.sqrt(BLOCK);
  return (out) => {
    const a = Math.floor(rand() * n);
    const b = Math.floor(rand() * n);
    const w = 0.5 + 0.5 * rand();
    for (let j = 0; j < DIM; j++) {
      out[j] = w * seeds[a * DIM + j]! + (1 - w) * seeds[b * DIM + j]! + sigma * g();
    }
    unitBlocks(out);
  };
}

/** Makes clustered tracks: see the module doc. */
export function clusteredTrack(tracks: number, seed: number): (out: Float32Array) => void {
  const rand = mulberry32(seed);
  const g = gaussian(mulberry32(seed + 1));
  const clusters = Math.max(16, Math.round(tracks / 100));
  // Centres are made on demand from their own seed, so a million tracks need no centre table.
  const centre = new Float32Array(DIM);
  const sigma = 0.5 / Math.sqrt(BLOCK);
  return (out) => {
    const c = Math.floor(rand() * clusters);
    const gc = gaussian(mulberry32(1_000_003 * (c + 1)));
    for (let j = 0; j < DIM; j++) centre[j] = gc() / Math.sqrt(BLOCK);
    for (let j = 0; j < DIM; j++) out[j] = centre[j]! + sigma * g();
    unitBlocks(out);
  };
}
