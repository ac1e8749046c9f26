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
 * Run: `node_modules/.bin/deno run -A bench/block_weights.ts --vectors <file.json> [--method segment|whole]
 *   [--teacher-targets .cache/teacher/targets] [--top 15] [--weights g,e,i]`
 * @module
 */
import { dirname, join } from "node:path";
import { sha256File } from "../core/mod.ts";
import { readTeacherOutput } from "../training/teacher/teacher.ts";
import { classScores, GENRE_TAG_MAP, mapClasses, meanRows } from "../training/teacher/targets.ts";
import { BLOCK_SIZE, MODELS_PER_CLIP, WINDOWS_PER_CLIP } from "../core/index/segment_search.ts";
import { arg } from "./_util.ts";

const vectorsFile = arg("vectors");
if (vectorsFile === undefined) {
  throw new Error("--vectors <file.json> (from quality_bench.ts --vectors) is needed");
}
const method = arg("method") ?? "segment";
if (method !== "segment" && method !== "whole") throw new Error(`--method takes segment or whole: ${method}`);
const targets = arg("teacher-targets") ?? ".cache/teacher/targets";
const top = Number(arg("top") ?? 15);

/** `weights`: what the run's product searched with this query (absent in files from before: equal). */
type Clip = {
  name: string;
  path: string;
  label: string;
  mood: boolean;
  vector: number[];
  weights?: number[];
};
const data = JSON.parse(await Deno.readTextFile(vectorsFile)) as {
  clips: Clip[];
  queries: Record<string, { clip: number; vector: number[]; weights?: number[] }[]>;
};
const EQUAL = [1, 1, 1];
const clips = data.clips.map((c) => Float32Array.from(c.vector));
const moodIdx = data.clips.flatMap((c, i) => (c.mood ? [i] : []));
const moodSet = new Set(moodIdx);
const teacherGenre = new Map<number, string>();
for (const i of moodIdx) {
  const path = data.clips[i]!.path;
  const o = await readTeacherOutput(targets, "msd", await sha256File(path), path, 1);
  const s = classScores(GENRE_TAG_MAP, meanRows(o.tags, o.tags.length / o.n, [...Array(o.n).keys()]));
  teacherGenre.set(i, mapClasses(GENRE_TAG_MAP)[s.indexOf(Math.max(...s))]!);
}

/** Cosines `[model][query window][catalog window]` between two clip vectors' blocks. */
function cosines(q: Float32Array, c: Float32Array): number[][][] {
  return Array.from(
    { length: MODELS_PER_CLIP },
    (_, m) =>
      Array.from({ length: WINDOWS_PER_CLIP }, (_, a) =>
        Array.from({ length: WINDOWS_PER_CLIP }, (_, b) => {
          const oa = (m * WINDOWS_PER_CLIP + a) * BLOCK_SIZE, ob = (m * WINDOWS_PER_CLIP + b) * BLOCK_SIZE;
          let s = 0;
          for (let d = 0; d < BLOCK_SIZE; d++) s += q[oa + d]! * c[ob + d]!;
          return s;
        })),
  );
}

/** The weighted distance of a query to one catalog clip, as the product's search would compute it. */
function distance(cos: number[][][], w: readonly number[]): number {
  const windowD = (a: number, b: number) => cos.reduce((s, cm, m) => s + w[m]! * (2 - 2 * cm[a]![b]!), 0);
  if (method === "whole") return [...Array(WINDOWS_PER_CLIP).keys()].reduce((s, a) => s + windowD(a, a), 0);
  // segment search: each query window's closest window of the clip, averaged over the query windows
  let sum = 0;
  for (let a = 0; a < WINDOWS_PER_CLIP; a++) {
    sum += Math.min(...[...Array(WINDOWS_PER_CLIP).keys()].map((b) => windowD(a, b)));
  }
  return sum / WINDOWS_PER_CLIP;
}

type Query = { self: number; cos: number[][][][]; runWeights: readonly number[] };
const queries: Record<string, Query[]> = {};
for (const [name, list] of Object.entries(data.queries)) {
  queries[name] = list.map((q) => {
    const v = Float32Array.from(q.vector);
    return { self: q.clip, cos: clips.map((c) => cosines(v, c)), runWeights: q.weights ?? EQUAL };
  });
}
const moodQueries: Query[] = moodIdx.map((i) => ({
  self: i,
  cos: clips.map((c) => cosines(clips[i]!, c)),
  runWeights: data.clips[i]!.weights ?? EQUAL,
}));
const ranking = (cos: number[][][][], w: readonly number[]) =>
  cos.map((c, i) => [distance(c, w), i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) =>
    i
  );

/** Every figure for one weighting of every query (`"run"`: each query as the run's product weighed it). */
function measure(weights: readonly number[] | "run"): Record<string, number> {
  const wOf = (q: Query) => (weights === "run" ? q.runWeights : weights);
  const r: Record<string, number> = {};
  for (const [name, qs] of Object.entries(queries)) {
    const pos = qs.map((q) => ranking(q.cos, wOf(q)).indexOf(q.self));
    r[`${name} first`] = pos.filter((p) => p === 0).length;
    r[`${name} top 5`] = pos.filter((p) => p < 5).length;
  }
  let mood = 0, genre = 0;
  for (const q of moodQueries) {
    const nb = ranking(q.cos, wOf(q)).filter((j) => j !== q.self && moodSet.has(j)).slice(0, 5);
    mood += nb.filter((j) => data.clips[j]!.label === data.clips[q.self]!.label).length / 5;
    genre += nb.filter((j) => teacherGenre.get(j) === teacherGenre.get(q.self)).length / 5;
  }
  r.mood = mood / moodIdx.length;
  r.genre = genre / moodIdx.length;
  // the same agreement for 10 s excerpts of the held-out mood clips (the Q1b queries) as queries
  const excerpts = (queries.Q1b ?? []).filter((q) => moodSet.has(q.self));
  let excerptMood = 0;
  for (const q of excerpts) {
    const nb = ranking(q.cos, wOf(q)).filter((j) => j !== q.self && moodSet.has(j)).slice(0, 5);
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
const names = Object.keys(queries);
console.log(
  `\n${method} search, ${rows.length} weightings; best ${top} by mood P@5 + teacher-genre P@5, then equal weights`,
);
console.log(
  `| genre, emotion, instrument (every query) | mood P@5 | teacher-genre P@5 | mood P@5 of 10 s excerpts | ${
    names.map((q) => `${q} first / top 5`).join(" | ")
  } |`,
);
console.log(`|---|---|---|---|${names.map(() => "---|").join("")}`);
const line = (w: readonly number[], r: Record<string, number>) =>
  `| ${w.map((x) => x.toFixed(2)).join(", ")} | ${r.mood!.toFixed(3)} | ${r.genre!.toFixed(3)} | ${
    r.excerptMood!.toFixed(3)
  } | ${names.map((q) => `${r[`${q} first`]} / ${r[`${q} top 5`]} of ${queries[q]!.length}`).join(" | ")} |`;
for (const { w, r } of rows.slice(0, top)) console.log(line(w, r));
console.log(line([1, 1, 1], equal));
const runLine = line([1, 1, 1], asRun).replace(
  /^\| [^|]+\|/,
  "| as the run searched (short clips weighted) |",
);
console.log(runLine);
