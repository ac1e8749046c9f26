/**
 * Search-time block weights, tried offline on the vectors of one quality benchmark run (`quality_bench.ts
 * --vectors <file>`): each model's blocks (genre, emotion, instrument) weigh `w_m` in the squared distance,
 * `Σ_m w_m |q_m - c_m|²` (weights scaled to sum to 3, so equal weights are the product's search). Scaling a
 * query's blocks by `w_m` before an L2 search ranks exactly so (every block is unit length), so a weighting
 * needs no index change; this asks whether one is worth having.
 *
 * For every point of a grid (each weight in {0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3} before scaling) it
 * measures, with segment search (the default) or whole clips, as `quality_bench.ts` does, every query
 * weighted alike: Q0/Q1 first and top 5 counts, mood-cluster P@5 and teacher-genre P@5 among the held-out
 * mood clips (the teacher's top genre from its cached targets). It first checks that each query weighted
 * as the run's product weighed it (`weights` in the vectors file; equal in files from before short clips
 * were weighted) reproduces the run's own `quality.json` (same folder), so the offline ranking is the
 * product's.
 *
 * It also gives the mood P@5 of the 10 s excerpts (the Q1b queries of the held-out mood clips, each ranking
 * the other mood clips), since a weighting meant for short clips changes only their answers.
 * `--weights g,e,i` measures one weighting (scaled the same way) beside equal weights instead of the grid.
 *
 * `--excerpt-windows` asks another question of the same run, segment search only: would a 10 s excerpt be
 * found more often if the catalog also held the windows halfway between each clip's three (for a 30 s clip,
 * 5-15 s and 15-25 s besides 0-10, 10-20 and 20-30 s)? It decodes every catalog clip again and embeds those
 * windows with `--models` (default `models`; checked first to give the run's own vectors), then measures,
 * each query weighted as the run's product weighed it: the product's three windows; the in-between windows
 * for queries of one window's audio only (up to `SHORT_CLIP_SECONDS`: 30 s queries rank as before); and for
 * every query. It prints what they cost: window rows to embed and index per track.
 *
 * Run: `node_modules/.bin/deno run -A bench/block_weights.ts --vectors <file.json> [--method segment|whole]
 *   [--teacher-targets .cache/teacher/targets] [--top 15] [--weights g,e,i | --excerpt-windows [--models dir]]`
 * @module
 */
import { dirname, join } from "node:path";
import {
  createEmbedder,
  decodeAudio,
  DEFAULT_FEATURE_PARAMS,
  loadManifest,
  sha256File,
} from "../core/mod.ts";
import { cutSegments, segmentStarts } from "../core/audio/segments.ts";
import { SHORT_CLIP_SECONDS } from "../core/recommend/block_weights.ts";
import { readTeacherOutput } from "../training/teacher/teacher.ts";
import { classScores, GENRE_TAG_MAP, mapClasses, meanRows } from "../training/teacher/targets.ts";
import {
  BLOCK_SIZE,
  clipWindows,
  MODELS_PER_CLIP,
  WINDOW_VECTOR_SIZE,
  WINDOWS_PER_CLIP,
} from "../core/index/segment_search.ts";
import { arg } from "./_util.ts";

const vectorsFile = arg("vectors");
if (vectorsFile === undefined) {
  throw new Error("--vectors <file.json> (from quality_bench.ts --vectors) is needed");
}
const method = arg("method") ?? "segment";
if (method !== "segment" && method !== "whole") throw new Error(`--method takes segment or whole: ${method}`);
const targets = arg("teacher-targets") ?? ".cache/teacher/targets";
const top = Number(arg("top") ?? 15);
const excerptWindows = Deno.args.includes("--excerpt-windows");
if (excerptWindows && method !== "segment") throw new Error("--excerpt-windows is a segment search question");
if (excerptWindows && arg("weights") !== undefined) {
  throw new Error("--excerpt-windows measures the run's own weighting: leave out --weights");
}

/** `weights`: what the run's product searched with this query (absent in files from before: equal). */
type Clip = {
  name: string;
  path: string;
  label: string;
  mood: boolean;
  vector: number[];
  weights?: number[];
  seconds?: number;
};
const data = JSON.parse(await Deno.readTextFile(vectorsFile)) as {
  clips: Clip[];
  queries: Record<string, { clip: number; vector: number[]; weights?: number[]; seconds?: number }[]>;
};
const EQUAL = [1, 1, 1];
const clips = data.clips.map((c) => Float32Array.from(c.vector));
/** Each catalog clip's window vectors: its three, then (`--excerpt-windows`) the ones between them. */
const catalogWindows = clips.map((c) => clipWindows(c));
if (excerptWindows) await addInBetweenWindows(arg("models") ?? "models");

/**
 * Embeds the windows halfway between each catalog clip's windows (none for a clip of one window's audio)
 * and appends them to `catalogWindows`, after checking that these models give the run's own vectors.
 */
async function addInBetweenWindows(modelsDir: string): Promise<void> {
  const SR = DEFAULT_FEATURE_PARAMS.sampleRate, WINDOW = 10 * SR;
  const embedder = await createEmbedder({
    manifest: await loadManifest(modelsDir),
    modelsDir,
    provider: "cpu",
    threads: 2,
  });
  try {
    for (const [i, clip] of data.clips.entries()) {
      const audio = await decodeAudio(clip.path, { sampleRate: SR, maxSeconds: 1200 });
      if (i === 0) {
        const again = await embedder.embedSegments(cutSegments(audio));
        for (let b = 0; b < MODELS_PER_CLIP * WINDOWS_PER_CLIP; b++) {
          const cos = dot(again, clips[0]!, b * BLOCK_SIZE, b * BLOCK_SIZE);
          if (!(cos > 0.999)) {
            throw new Error(`${modelsDir} is not the run's models (block ${b}: cosine ${cos})`);
          }
        }
      }
      const starts = segmentStarts(audio.seconds);
      const between = starts.slice(1).map((s, k) => (starts[k]! + s) / 2).filter((m, k) => m > starts[k]!);
      if (between.length === 0) continue;
      // Windows are embedded one by one, so two in-between windows (and a copy) are one clip's three.
      const cut = between.map((m) => audio.samples.slice(Math.round(m * SR), Math.round(m * SR) + WINDOW));
      const windows = clipWindows(
        await embedder.embedSegments([...cut, cut.at(-1)!, cut.at(-1)!].slice(0, 3)),
      );
      catalogWindows[i]!.push(...windows.slice(0, between.length));
    }
  } finally {
    await embedder.close();
  }
}

/** The dot product of two blocks of `BLOCK_SIZE` floats. */
function dot(a: Float32Array, b: Float32Array, oa: number, ob: number): number {
  let s = 0;
  for (let d = 0; d < BLOCK_SIZE; d++) s += a[oa + d]! * b[ob + d]!;
  return s;
}
const moodIdx = data.clips.flatMap((c, i) => (c.mood ? [i] : []));
const moodSet = new Set(moodIdx);
const teacherGenre = new Map<number, string>();
for (const i of moodIdx) {
  const path = data.clips[i]!.path;
  const o = await readTeacherOutput(targets, "msd", await sha256File(path), path, 1);
  const s = classScores(GENRE_TAG_MAP, meanRows(o.tags, o.tags.length / o.n, [...Array(o.n).keys()]));
  teacherGenre.set(i, mapClasses(GENRE_TAG_MAP)[s.indexOf(Math.max(...s))]!);
}

/** Cosines `[model][query window][catalog window]` between a clip vector's windows and a catalog clip's. */
function cosines(q: Float32Array, windows: readonly Float32Array[]): number[][][] {
  const mine = clipWindows(q);
  return Array.from(
    { length: MODELS_PER_CLIP },
    (_, m) => mine.map((qw) => windows.map((cw) => dot(qw, cw, m * BLOCK_SIZE, m * BLOCK_SIZE))),
  );
}

/**
 * The weighted distance of a query to one catalog clip, as the product's search would compute it, over
 * the clip's first `windows` window vectors (segment search; whole clips compare window a with window a).
 */
function distance(cos: number[][][], w: readonly number[], windows: number): number {
  const windowD = (a: number, b: number) => cos.reduce((s, cm, m) => s + w[m]! * (2 - 2 * cm[a]![b]!), 0);
  if (method === "whole") return [...Array(WINDOWS_PER_CLIP).keys()].reduce((s, a) => s + windowD(a, a), 0);
  // segment search: each query window's closest window of the clip, averaged over the query windows
  let sum = 0;
  for (let a = 0; a < WINDOWS_PER_CLIP; a++) {
    sum += Math.min(...cos[0]![a]!.slice(0, windows).map((_, b) => windowD(a, b)));
  }
  return sum / WINDOWS_PER_CLIP;
}

/** `short`: a query of one window's audio (the product weighs it as a short clip). */
type Query = { self: number; cos: number[][][][]; runWeights: readonly number[]; short: boolean };
const isShort = (seconds: number | undefined) => seconds !== undefined && seconds <= SHORT_CLIP_SECONDS;
if (excerptWindows && Object.values(data.queries).some((l) => l.some((q) => q.seconds === undefined))) {
  throw new Error("--excerpt-windows needs each query's seconds: rerun quality_bench.ts --vectors");
}
const queries: Record<string, Query[]> = {};
for (const [name, list] of Object.entries(data.queries)) {
  queries[name] = list.map((q) => {
    const v = Float32Array.from(q.vector);
    return {
      self: q.clip,
      cos: catalogWindows.map((c) => cosines(v, c)),
      runWeights: q.weights ?? EQUAL,
      short: isShort(q.seconds),
    };
  });
}
const moodQueries: Query[] = moodIdx.map((i) => ({
  self: i,
  cos: catalogWindows.map((c) => cosines(clips[i]!, c)),
  runWeights: data.clips[i]!.weights ?? EQUAL,
  short: isShort(data.clips[i]!.seconds),
}));

/** Which catalog windows a query is matched against: the product's three, or also the in-between ones. */
type Windows = "three" | "in-between for short queries" | "in-between for every query";
const ranking = (q: Query, w: readonly number[], windows: Windows) => {
  const all = windows === "in-between for every query" ||
    (windows === "in-between for short queries" && q.short);
  return q.cos.map((c, i) => [distance(c, w, all ? Infinity : WINDOWS_PER_CLIP), i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
};

/** Every figure for one weighting of every query (`"run"`: each query as the run's product weighed it). */
function measure(weights: readonly number[] | "run", windows: Windows = "three"): Record<string, number> {
  const wOf = (q: Query) => (weights === "run" ? q.runWeights : weights);
  const r: Record<string, number> = {};
  for (const [name, qs] of Object.entries(queries)) {
    const pos = qs.map((q) => ranking(q, wOf(q), windows).indexOf(q.self));
    r[`${name} first`] = pos.filter((p) => p === 0).length;
    r[`${name} top 5`] = pos.filter((p) => p < 5).length;
  }
  let mood = 0, genre = 0;
  for (const q of moodQueries) {
    const nb = ranking(q, wOf(q), windows).filter((j) => j !== q.self && moodSet.has(j)).slice(0, 5);
    mood += nb.filter((j) => data.clips[j]!.label === data.clips[q.self]!.label).length / 5;
    genre += nb.filter((j) => teacherGenre.get(j) === teacherGenre.get(q.self)).length / 5;
  }
  r.mood = mood / moodIdx.length;
  r.genre = genre / moodIdx.length;
  // the same agreement for 10 s excerpts of the held-out mood clips (the Q1b queries) as queries
  const excerpts = (queries.Q1b ?? []).filter((q) => moodSet.has(q.self));
  let excerptMood = 0;
  for (const q of excerpts) {
    const nb = ranking(q, wOf(q), windows).filter((j) => j !== q.self && moodSet.has(j)).slice(0, 5);
    excerptMood += nb.filter((j) => data.clips[j]!.label === data.clips[q.self]!.label).length / 5;
  }
  r.excerptMood = excerpts.length === 0 ? NaN : excerptMood / excerpts.length;
  return r;
}

// the run's own weighting must give the run's own figures (the product's ranking)
const asRun = measure("run");
const equal = measure(EQUAL);
const own = JSON.parse(await Deno.readTextFile(join(dirname(vectorsFile), "quality.json"))).results;
const kind = method === "segment" ? "segment" : "whole";
const checks: [string, number, number][] = [
  ["mood P@5", asRun.mood!, own[`Q2/${kind}/flat`].p5],
  [
    "teacher-genre P@5",
    asRun.genre!,
    own[`Teacher/students, ${method === "segment" ? "segment" : "whole clip"} (flat)`].genreP5,
  ],
  ...Object.keys(queries).map((q) =>
    [`${q} first`, asRun[`${q} first`]! / queries[q]!.length, own[`${q}/${kind}/flat`].first] as [
      string,
      number,
      number,
    ]
  ),
];
for (const [what, mine, theirs] of checks) {
  if (Math.abs(mine - theirs) > 1e-9) {
    throw new Error(`the run's weighting gives ${what} ${mine} here, the run ${theirs}`);
  }
}
console.log(`The run's own weighting reproduces ${vectorsFile}'s run (${checks.length} figures).`);
if (excerptWindows) {
  reportExcerptWindows();
  Deno.exit(0);
}

const only = arg("weights")?.split(",").map(Number);
if (only !== undefined && (only.length !== 3 || only.some((x) => !(x >= 0)) || only.every((x) => x === 0))) {
  throw new Error(`--weights takes three non-negative numbers (genre,emotion,instrument): ${arg("weights")}`);
}
const grid = [0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3];
const seen = new Set<string>();
const rows: { w: number[]; r: Record<string, number> }[] = [];
for (const g of only ? [only[0]!] : grid) {
  for (const e of only ? [only[1]!] : grid) {
    for (const i of only ? [only[2]!] : grid) {
      if (g + e + i === 0) continue;
      const w = [g, e, i].map((x) => (3 * x) / (g + e + i));
      const key = w.map((x) => x.toFixed(4)).join();
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({ w, r: measure(w) });
    }
  }
}
rows.sort((a, b) => b.r.mood! + b.r.genre! - (a.r.mood! + a.r.genre!));
console.log(
  `\n${method} search, ${rows.length} weightings; best ${top} by mood P@5 + teacher-genre P@5, then equal weights`,
);
header("genre, emotion, instrument (every query)");
const weightsLabel = (w: readonly number[]) => w.map((x) => x.toFixed(2)).join(", ");
for (const { w, r } of rows.slice(0, top)) console.log(row(weightsLabel(w), r));
console.log(row(weightsLabel(EQUAL), equal));
console.log(row("as the run searched (short clips weighted)", asRun));

/** The table's header, its first column named `first`. */
function header(first: string): void {
  const names = Object.keys(queries);
  console.log(
    `| ${first} | mood P@5 | teacher-genre P@5 | mood P@5 of 10 s excerpts | ${
      names.map((q) => `${q} first / top 5`).join(" | ")
    } |`,
  );
  console.log(`|---|---|---|---|${names.map(() => "---|").join("")}`);
}

/** One line of the table: `label`, then the figures of {@linkcode measure}. */
function row(label: string, r: Record<string, number>): string {
  return `| ${label} | ${r.mood!.toFixed(3)} | ${r.genre!.toFixed(3)} | ${r.excerptMood!.toFixed(3)} | ${
    Object.keys(queries).map((q) => `${r[`${q} first`]} / ${r[`${q} top 5`]} of ${queries[q]!.length}`).join(
      " | ",
    )
  } |`;
}

/** `--excerpt-windows`: the three ways of matching, each query weighted as the run's product weighed it. */
function reportExcerptWindows(): void {
  const rowsPerTrack = catalogWindows.reduce((s, w) => s + w.length, 0) / catalogWindows.length;
  console.log(
    `\nsegment search; catalog window rows per track: ${WINDOWS_PER_CLIP} now, ${
      rowsPerTrack.toFixed(2)
    } with the in-between windows (each row ${WINDOW_VECTOR_SIZE} floats; each in-between window is one more 10 s window to decode and embed in a reindex)`,
  );
  header("catalog windows (each query weighted as the run did)");
  for (const windows of ["three", "in-between for short queries", "in-between for every query"] as const) {
    console.log(row(windows, measure("run", windows)));
  }
}
