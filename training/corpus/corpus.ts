/**
 * Plans and renders the synthetic corpus: folder-per-class WAV clips for the genre, emotion and
 * instrument tasks, and an FMA-shaped demo catalog. Rendering runs with bounded concurrency and is
 * cached: a clip whose file exists under the same key (generator version, seed, parameters) is kept.
 * @module
 */
import type { Logger } from "../../core/mod.ts";
import { composeDemo, composeEmotion, composeGenre, composeInstrument } from "./compose.ts";
import { applyEffects, drawEffects } from "./effects.ts";
import { type DemoTrack, fmaGenresCsv, fmaTracksCsv, planDemoTracks } from "./fma.ts";
import { encodeMp3, findSoundfont, renderMidi, type RenderOptions } from "./fluidsynth.ts";
import { createRng, hashSeed } from "./prng.ts";
import { type Song, songToMidi } from "./song.ts";
import { EMOTIONS, GENRES, INSTRUMENTS } from "./styles.ts";
import { encodeWav16, type PcmAudio } from "./wav.ts";

/**
 * Bumped whenever composition, rendering or effects change, which invalidates cached clips.
 */
export const GENERATOR_VERSION = "1.0.0";

/** The parts of the corpus. */
export const CORPUS_PARTS = ["genre", "emotion", "instrument", "demo"] as const;
/** One part of the corpus. */
export type CorpusPart = typeof CORPUS_PARTS[number];

/** What to generate. */
export interface CorpusOptions {
  /** Output folder. */
  out: string;
  /** Corpus seed. @default 1 */
  seed: number;
  /** Clips per class for each labelled task. */
  perClass: { genre: number; emotion: number; instrument: number };
  /** Number of FMA-shaped demo tracks. */
  demoTracks: number;
  /** Clip lengths in seconds. */
  seconds: { genre: number; emotion: number; instrument: number; demo: number };
  /** Sample rate of the labelled clips (demo MP3s are 44.1 kHz stereo like fma_small). @default 22050 */
  sampleRate: number;
  /** Parallel renders. */
  jobs: number;
  /** Which parts to build. */
  only: readonly CorpusPart[];
  /** Soundfont path; default: the first one found. */
  soundfont?: string;
}

/** Defaults sized so the whole corpus renders in a few minutes on 2 cores. */
export const DEFAULT_CORPUS_OPTIONS: Omit<CorpusOptions, "out" | "jobs"> = {
  seed: 1,
  perClass: { genre: 24, emotion: 30, instrument: 40 },
  demoTracks: 200,
  seconds: { genre: 30, emotion: 30, instrument: 12, demo: 30 },
  sampleRate: 22050,
  only: CORPUS_PARTS,
};

/** One clip to render. */
export interface ClipJob {
  part: CorpusPart;
  label: string;
  index: number;
  /** Path relative to the corpus folder. */
  path: string;
  seed: number;
  seconds: number;
  /** Cache key: a hash of everything the clip's bytes depend on. */
  key: string;
  demo?: DemoTrack;
}

/** Progress after each clip. */
export interface CorpusProgress {
  done: number;
  total: number;
  /** Clips kept from the cache so far. */
  cached: number;
  last: ClipJob;
}

/** Seams for rendering and encoding, so tests can count or fake them. */
export interface CorpusDeps {
  logger: Logger;
  render: (midi: Uint8Array, opts: RenderOptions) => Promise<PcmAudio>;
  encodeMp3: (audio: PcmAudio, path: string) => Promise<void>;
  onProgress?: (p: CorpusProgress) => void;
  /** When aborted, no new clip starts; clips in flight finish and the manifest is saved. */
  signal?: AbortSignal;
}

/** What a run produced. */
export interface CorpusSummary {
  out: string;
  rendered: number;
  cached: number;
  counts: Record<CorpusPart, Record<string, number>>;
  seconds: number;
  /** `false` when stopped by the abort signal before every clip was rendered. */
  complete: boolean;
}

function emptyCounts(): Record<CorpusPart, Record<string, number>> {
  return { genre: {}, emotion: {}, instrument: {}, demo: {} };
}

const MANIFEST = ".manifest.json";

function clipKey(parts: unknown[]): string {
  const text = JSON.stringify([GENERATOR_VERSION, ...parts]);
  return hashSeed(text).toString(16).padStart(8, "0") + hashSeed("salt", text).toString(16).padStart(8, "0");
}

/**
 * Lists every clip of the corpus, in a stable order, with its seed and cache key.
 *
 * @param opts What to generate.
 * @returns The jobs.
 */
export function planCorpus(opts: Omit<CorpusOptions, "jobs">, soundfont = ""): ClipJob[] {
  const jobs: ClipJob[] = [];
  const labelled = [
    ["genre", GENRES, opts.perClass.genre, opts.seconds.genre],
    ["emotion", EMOTIONS, opts.perClass.emotion, opts.seconds.emotion],
    ["instrument", INSTRUMENTS, opts.perClass.instrument, opts.seconds.instrument],
  ] as const;
  for (const [part, labels, count, seconds] of labelled) {
    if (!opts.only.includes(part)) continue;
    for (let index = 0; index < count; index++) {
      for (const label of labels) {
        const seed = hashSeed(opts.seed, part, label, index);
        jobs.push({
          part,
          label,
          index,
          path: `${part}/${label}/${label}.${String(index).padStart(5, "0")}.wav`,
          seed,
          seconds,
          key: clipKey([part, label, seed, seconds, opts.sampleRate, soundfont]),
        });
      }
    }
  }
  if (opts.only.includes("demo") && opts.demoTracks > 0) {
    for (const t of planDemoTracks(opts.demoTracks, opts.seed, 900001, opts.seconds.demo)) {
      jobs.push({
        part: "demo",
        label: t.genre,
        index: t.trackId,
        path: `fma_demo/fma_small/${t.audioPath}`,
        seed: t.seed,
        seconds: t.durationSeconds,
        key: clipKey(["demo", t.genre, t.emotion, t.seed, opts.seconds.demo, soundfont]),
        demo: t,
      });
    }
  }
  return jobs;
}

/**
 * Composes a job's song (pure; exposed for tests and inspection).
 *
 * @param job The clip.
 * @returns The song.
 */
export function composeJob(job: ClipJob): Song {
  switch (job.part) {
    case "genre":
      return composeGenre(job.label as typeof GENRES[number], job.seed, job.seconds);
    case "emotion":
      return composeEmotion(job.label as typeof EMOTIONS[number], job.seed, job.seconds);
    case "instrument":
      return composeInstrument(job.label as typeof INSTRUMENTS[number], job.seed, job.seconds);
    case "demo": {
      if (!job.demo) throw new Error("A demo job needs its track");
      return composeDemo(job.demo.genre, job.demo.emotion, job.seed, job.seconds);
    }
  }
}

async function readManifest(out: string): Promise<Record<string, string>> {
  try {
    const data = JSON.parse(await Deno.readTextFile(`${out}/${MANIFEST}`));
    return data && typeof data.clips === "object" ? data.clips as Record<string, string> : {};
  } catch {
    return {};
  }
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Renders one clip to its file: compose, MIDI, fluidsynth, effects, WAV (or MP3 for demo tracks).
 *
 * @param job The clip.
 * @param opts Corpus options (sample rate, soundfont).
 * @param deps Rendering seams.
 */
export async function renderClip(
  job: ClipJob,
  opts: Pick<CorpusOptions, "out" | "sampleRate" | "soundfont">,
  deps: Pick<CorpusDeps, "render" | "encodeMp3">,
): Promise<void> {
  const rng = createRng(job.seed);
  const midi = songToMidi(composeJob(job));
  const demo = job.part === "demo";
  const sampleRate = demo ? 44100 : opts.sampleRate;
  const renderOpts: RenderOptions = { sampleRate, gain: 0.5 };
  if (opts.soundfont !== undefined) renderOpts.soundfont = opts.soundfont;
  const raw = await deps.render(midi, renderOpts);
  let peak = 0;
  for (const ch of raw.channels) for (const v of ch) peak = Math.max(peak, Math.abs(v));
  if (peak < 1e-4) throw new Error(`Rendered silence for ${job.path} (seed ${job.seed})`);
  const noise: [number, number] = job.label === "hiphop" ? [-60, -42] : [-75, -50];
  const audio = applyEffects(
    raw,
    drawEffects(rng.fork("fx"), noise),
    job.seconds,
    demo ? 2 : 1,
    rng.fork("noise"),
  );
  const path = `${opts.out}/${job.path}`;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  if (demo) {
    const tmp = `${path}.tmp-${Deno.pid}.mp3`;
    await deps.encodeMp3(audio, tmp);
    await Deno.rename(tmp, path);
  } else {
    await writeAtomic(path, encodeWav16(audio));
  }
}

/** The real renderers. */
export function defaultCorpusDeps(logger: Logger, onProgress?: (p: CorpusProgress) => void): CorpusDeps {
  const deps: CorpusDeps = { logger, render: renderMidi, encodeMp3: (a, p) => encodeMp3(a, p) };
  if (onProgress) deps.onProgress = onProgress;
  return deps;
}

/**
 * Builds (or completes) the corpus: renders every planned clip that is not cached, then writes
 * `labels.csv`, `corpus.json`, the manifest and the demo catalog's FMA metadata.
 *
 * @param opts What to generate.
 * @param deps Renderers, logger and progress callback.
 * @returns Counts and timing.
 */
export async function buildCorpus(opts: CorpusOptions, deps: CorpusDeps): Promise<CorpusSummary> {
  const started = performance.now();
  const soundfont = opts.soundfont ?? findSoundfont();
  const jobs = planCorpus(opts, soundfont);
  await Deno.mkdir(opts.out, { recursive: true });
  const manifest = await readManifest(opts.out);
  // Clips an earlier, larger run made that this plan no longer has would silently join the dataset:
  // remove them (only files this generator recorded in its manifest).
  const planned = new Set(jobs.map((j) => j.path));
  let pruned = 0;
  const folders = opts.only.map((part) => part === "demo" ? "fma_demo/" : `${part}/`);
  for (const path of Object.keys(manifest)) {
    if (planned.has(path) || !folders.some((f) => path.startsWith(f))) continue;
    delete manifest[path];
    await Deno.remove(`${opts.out}/${path}`).then(() => pruned++, () => {});
  }
  if (pruned > 0) deps.logger.info("Removed clips no longer in the plan", { pruned });
  const saveManifest = () =>
    writeAtomic(
      `${opts.out}/${MANIFEST}`,
      JSON.stringify({ generatorVersion: GENERATOR_VERSION, clips: manifest }, null, 1),
    );
  let next = 0, done = 0, cached = 0, rendered = 0, sinceSave = 0;
  deps.logger.info("Building the synthetic corpus", { out: opts.out, clips: jobs.length, jobs: opts.jobs });
  const worker = async () => {
    while (next < jobs.length && !deps.signal?.aborted) {
      const job = jobs[next++]!;
      if (manifest[job.path] === job.key && await exists(`${opts.out}/${job.path}`)) {
        cached++;
      } else {
        delete manifest[job.path];
        await renderClip(job, { ...opts, soundfont }, deps);
        manifest[job.path] = job.key;
        rendered++;
        if (++sinceSave >= 25) {
          sinceSave = 0;
          await saveManifest();
        }
      }
      done++;
      deps.onProgress?.({ done, total: jobs.length, cached, last: job });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, jobs.length)) }, worker));
  } finally {
    await saveManifest();
  }
  if (done < jobs.length) {
    deps.logger.warn("Stopped before the end: rerun the same command to finish", {
      done,
      total: jobs.length,
    });
    return {
      out: opts.out,
      rendered,
      cached,
      counts: emptyCounts(),
      seconds: (performance.now() - started) / 1000,
      complete: false,
    };
  }

  // Parts not built in this run keep what an earlier run recorded.
  let previous: { counts?: Partial<Record<CorpusPart, Record<string, number>>>; parts?: CorpusPart[] } = {};
  try {
    previous = JSON.parse(await Deno.readTextFile(`${opts.out}/corpus.json`));
  } catch {
    // first run
  }
  const counts = { genre: {}, emotion: {}, instrument: {}, demo: {} } as Record<
    CorpusPart,
    Record<string, number>
  >;
  const labelRows = new Map<CorpusPart, string[]>();
  for (const j of jobs) {
    counts[j.part][j.label] = (counts[j.part][j.label] ?? 0) + 1;
    const rows = labelRows.get(j.part) ?? ["path,label,emotion,seed,seconds"];
    rows.push([j.path, j.label, j.demo?.emotion ?? "", j.seed, j.seconds].join(","));
    labelRows.set(j.part, rows);
  }
  await Deno.mkdir(`${opts.out}/labels`, { recursive: true });
  for (const part of opts.only) {
    await writeAtomic(
      `${opts.out}/labels/${part}.csv`,
      (labelRows.get(part) ?? ["path,label,emotion,seed,seconds"]).join("\n") + "\n",
    );
  }
  const allCounts = { ...counts };
  for (const part of CORPUS_PARTS) {
    if (!opts.only.includes(part) && previous.counts?.[part]) allCounts[part] = previous.counts[part];
  }
  const parts = CORPUS_PARTS.filter((p) => opts.only.includes(p) || (previous.parts ?? []).includes(p));
  const demoTracks = jobs.flatMap((j) => j.demo ? [j.demo] : []);
  if (demoTracks.length > 0) {
    await Deno.mkdir(`${opts.out}/fma_demo/fma_metadata`, { recursive: true });
    await writeAtomic(`${opts.out}/fma_demo/fma_metadata/tracks.csv`, fmaTracksCsv(demoTracks));
    await writeAtomic(`${opts.out}/fma_demo/fma_metadata/genres.csv`, fmaGenresCsv(demoTracks));
  }
  const seconds = (performance.now() - started) / 1000;
  await writeAtomic(
    `${opts.out}/corpus.json`,
    JSON.stringify(
      {
        generator: "soundalike synthetic corpus",
        generatorVersion: GENERATOR_VERSION,
        seed: opts.seed,
        synthetic: true,
        soundfont,
        sampleRate: opts.sampleRate,
        seconds: opts.seconds,
        perClass: opts.perClass,
        demoTracks: opts.only.includes("demo")
          ? demoTracks.length
          : allCounts.demo
          ? Object.values(allCounts.demo).reduce((a, b) => a + b, 0)
          : 0,
        parts,
        counts: allCounts,
      },
      null,
      2,
    ) + "\n",
  );
  deps.logger.info("Corpus ready", { out: opts.out, rendered, cached, seconds: Math.round(seconds) });
  return { out: opts.out, rendered, cached, counts, seconds, complete: true };
}
