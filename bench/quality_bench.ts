/**
 * Quality benchmark (issue 9), on real audio only: the held-out mood clips (the test split of the
 * artist-grouped split the models were trained with; never a reserved clip) plus the real recordings
 * in `../shared/data` (librosa and sms_tools recordings, fma_small clips). Every clip is a catalog
 * track; distorted copies of it are the queries.
 *
 * - Q0: the whole clip at -12, -6 and +6 dB (+6 through core's look-ahead limiter): the source is
 *   first in >= 98 % at each;
 * - Q1a: the whole clip re-encoded as 64 kbit/s MP3 (from the 44.1 kHz decode), 4-6 dB quieter, pink
 *   noise at 25-30 dB SNR: first in >= 98 %;
 * - Q1b: a 10 s excerpt from inside the clip, same distortions: first in >= 80 %, top 5 in >= 95 %
 *   (clips of 10 s or less have no excerpt and are left out);
 * - Q2: mood-cluster agreement of the top 5 among the held-out mood clips (the query excluded), at
 *   least 0.10 above the log-mel statistics baseline (per-band mean and standard deviation of the
 *   loudness-normalised log-mel, standardised, L2), beside chance.
 *
 * - Teacher rows (issue 12), when the MusiCNN teacher's cached targets are present
 *   (`deno task teacher-targets`; skipped with a message otherwise): Q2 for the teacher's own vectors (MSD
 *   tag probabilities, 50-d; MSD embedding, 200-d) as a reference; the students' top-1 agreement with the
 *   teacher (genre from MSD tags, instrument from MTT tags, mapped as `training/teacher/targets.ts` says)
 *   on the held-out mood clips, how many cards show a label after calibration, and, on the clips the
 *   teacher gives one of our classes (its top class reaches `TEACHER_FLOOR`: the outside check's kind of
 *   recording, whose genre is among the model's classes), how often the card shows that class; genre P@5
 *   with the teacher's top genre as the label. Every P@5 has a 95 % bootstrap interval over the query clips.
 *
 * Every query is searched as the product searches it: a clip of one window's audio (the Q1b excerpts, a
 * short shared recording) with the emotion blocks at half weight (`core/recommend/block_weights.ts`).
 *
 * Each is measured for both search methods (the paper's whole-clip 2304-d vectors, and segment search
 * over 768-d window vectors, `core/index/segment_search.ts`) and both indexes (flat, and IVF with the
 * product's default nlist/nprobe), all built in memory through `buildVectorIndex`. It also writes a 2-D
 * PCA map of the held-out mood clips per model and for the clip vector.
 *
 * `--split validation` measures the same on the validation clips instead (their targets from
 * `deno task teacher-targets --splits validation`), so candidate models are compared without touching the
 * test split; its figures go to `.cache/quality/validation` unless `--out` says otherwise.
 *
 * `--vectors <file.json>` also writes every clip and query vector of the run (with the clips' names and
 * mood labels), so a change to how the product ranks vectors can be tried offline on the same vectors.
 *
 * Run: `node_modules/.bin/deno run -A bench/quality_bench.ts [--mood .cache/datasets/mirex-mood]
 *   [--shared ../shared/data] [--models models] [--out models/quality] [--limit N]
 *   [--teacher-targets .cache/teacher/targets] [--split test|validation] [--vectors file.json]`
 * @module
 */
import { SAME_AUDIO_SQUARED_DISTANCE } from "../core/catalog/reindex.ts";
import { dirname, join } from "node:path";
import {
  addNoise,
  applyGainDb,
  createEmbedder,
  cutSegments,
  decodeAudio,
  type DecodedAudio,
  DEFAULT_FEATURE_PARAMS,
  encodeMp3,
  excerpt,
  isSoundalikeError,
  limit,
  loadManifest,
  logMelSpectrogram,
  mulberry32,
  pinkNoise,
  queryBlockWeights,
  silentLogger,
  weightBlocks,
} from "../core/mod.ts";
import { windowRows } from "../core/index/segment_search.ts";
import {
  buildVectorIndex,
  buildWindowIndex,
  searchWindows,
  type VectorIndex,
} from "../core/index/vector_index.ts";
import { isReservedMoodClip, loadMirexMood } from "../training/datasets/mod.ts";
import { MOOD_SPLIT_SEED, splitByGroup } from "../training/split.ts";
import { pca } from "../training/pca.ts";
import { scatterSvg } from "../training/plots.ts";
import { arg, bootstrapMean95 } from "./_util.ts";
import { readTeacherOutput, type TeacherOutput } from "../training/teacher/teacher.ts";
import {
  classScores,
  GENRE_TAG_MAP,
  INSTRUMENT_TAG_MAP,
  mapClasses,
  meanRows,
  type TagMap,
} from "../training/teacher/targets.ts";
import { confidentClasses, type ModelHearing, sha256File } from "../core/mod.ts";
import { NO_CLASS, TEACHER_FLOOR, teacherClipReference } from "../training/teacher/calibration.ts";

const SR = DEFAULT_FEATURE_PARAMS.sampleRate;
const ENCODE_RATE = 44100;
const moodDir = arg("mood") ?? ".cache/datasets/mirex-mood";
const sharedDir = arg("shared") ?? "../shared/data";
const modelsDir = arg("models") ?? "models";
const split = arg("split") ?? "test";
if (split !== "test" && split !== "validation") throw new Error(`--split takes test or validation: ${split}`);
const outDir = arg("out") ?? (split === "test" ? "models/quality" : ".cache/quality/validation");
const limitN = arg("limit") === undefined ? Infinity : Number(arg("limit"));
const teacherTargets = arg("teacher-targets") ?? ".cache/teacher/targets";
const vectorsFile = arg("vectors");
const MTT_STRIDE = 5;

interface Clip {
  path: string;
  /** Mood cluster for held-out mood clips, else the source folder. */
  label: string;
  mood: boolean;
  audio: DecodedAudio;
  vector: Float32Array;
  baseline: Float32Array;
  /** What the students heard (calibrated probabilities), mood clips only. */
  hearing?: ModelHearing[];
}

async function listFiles(dir: string, exts: RegExp): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) out.push(...await listFiles(p, exts));
      else if (exts.test(e.name)) out.push(p);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

// ---- catalog -------------------------------------------------------------------------------
const manifest = await loadManifest(modelsDir);
const embedder = await createEmbedder({ manifest, modelsDir, provider: "cpu", threads: 2 });
const mood = await loadMirexMood(moodDir);
const heldOut = splitByGroup(mood.items, MOOD_SPLIT_SEED)[split].slice(0, limitN);
if (heldOut.some((it) => isReservedMoodClip(it.path))) {
  throw new Error("A reserved clip reached the benchmark");
}
const sharedPaths = [
  ...await listFiles(join(sharedDir, "recordings"), /\.(ogg|wav)$/i),
  ...await listFiles(join(sharedDir, "fma_small"), /\.mp3$/i),
];
const sources = [
  ...heldOut.map((it) => ({ path: it.path, label: it.label, mood: true })),
  ...sharedPaths.slice(0, limitN).map((path) => ({ path, label: path.split("/").at(-2)!, mood: false })),
];
console.log(
  `Catalog: ${heldOut.length} held-out mood clips (${split} split, seed ${MOOD_SPLIT_SEED}; ${
    mood.reserved?.length ?? 0
  } reserved clips never used) + ${sharedPaths.length} files from ${sharedDir}`,
);

/** Per-band mean and standard deviation of the three windows' log-mels (the baseline's features). */
function logMelStats(audio: DecodedAudio): Float32Array {
  const specs = cutSegments(audio).map((s) => logMelSpectrogram(s));
  const nMels = specs[0]!.nMels, out = new Float32Array(2 * nMels);
  for (let m = 0; m < nMels; m++) {
    const vals = specs.flatMap((s) => Array.from(s.data.subarray(m * s.frames, (m + 1) * s.frames)));
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    out[m] = mean;
    out[nMels + m] = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
  }
  return out;
}

const catalog: Clip[] = [];
const refused: string[] = [];
for (const s of sources) {
  try {
    const audio = await decodeAudio(s.path, { sampleRate: SR, maxSeconds: 1200 });
    const analysis = (await embedder.analyzeMany([cutSegments(audio)]))[0]!;
    catalog.push({
      ...s,
      audio,
      vector: analysis.vector,
      hearing: analysis.hearing,
      baseline: logMelStats(audio),
    });
  } catch (err) {
    if (!isSoundalikeError(err)) throw err;
    refused.push(`${s.path.split("/").at(-1)} (${err.code})`);
  }
}
console.log(
  `Embedded ${catalog.length} catalog clips; refused by the product's rules: ${refused.length} (${
    refused.join(", ")
  })`,
);

// Baseline vectors standardised per dimension over the catalog.
const dimB = catalog[0]!.baseline.length;
const mu = new Float64Array(dimB), sd = new Float64Array(dimB);
for (const c of catalog) for (let j = 0; j < dimB; j++) mu[j] = mu[j]! + c.baseline[j]! / catalog.length;
for (const c of catalog) {
  for (let j = 0; j < dimB; j++) sd[j] = sd[j]! + (c.baseline[j]! - mu[j]!) ** 2 / catalog.length;
}
const baselineVectors = catalog.map((c) =>
  c.baseline.map((v, j) => (v - mu[j]!) / Math.sqrt(sd[j]! + 1e-12))
);

// ---- indexes ---------------------------------------------------------------------------------
const ids = catalog.map((_, i) => i);
const flatten = (vs: readonly Float32Array[], dim: number) => {
  const out = new Float32Array(vs.length * dim);
  vs.forEach((v, i) => out.set(v, i * dim));
  return out;
};
const wholeRows = flatten(catalog.map((c) => c.vector), 2304);
// The product's builders: buildWindowIndex for the (flat) window index segment search serves, and
// the IVF variant over the same window rows for comparison.
const segRows = windowRows(catalog.map((c) => c.vector), ids);
const build = (kind: "flat" | "ivf", vectors: Float32Array, dim: number, trackIds: readonly number[]) =>
  buildVectorIndex({ kind, metric: "l2", vectors, dim, trackIds, logger: silentLogger });
const indexes = {
  whole: { flat: build("flat", wholeRows, 2304, ids), ivf: build("ivf", wholeRows, 2304, ids) },
  segment: {
    flat: buildWindowIndex({ vectors: wholeRows, dim: 2304, trackIds: ids, logger: silentLogger }),
    ivf: build("ivf", segRows.vectors, 768, segRows.trackIds),
  },
};
const baselineIndex = build("flat", flatten(baselineVectors, dimB), dimB, ids);
for (const [m, pair] of Object.entries(indexes)) {
  for (const [k, idx] of Object.entries(pair)) {
    if (k === "ivf") {
      console.log(`${m} IVF: ${idx.size} vectors, nlist ${idx.nlist}, nprobe ${idx.defaultNprobe}`);
    }
  }
}

type Method = keyof typeof indexes;
type Kind = "flat" | "ivf";
const METHODS: Method[] = ["whole", "segment"];
const KINDS: Kind[] = ["flat", "ivf"];

/**
 * Track ids ranked for a query clip vector by one method and index, the query weighted as the product
 * weighs a clip of `seconds` (`queryBlockWeights`).
 */
function rank(
  vector: Float32Array,
  seconds: number,
  method: Method,
  index: VectorIndex,
  k: number,
): number[] {
  const q = weightBlocks(vector, queryBlockWeights(seconds));
  if (method === "whole") return index.search(q, k).map((h) => h.trackId);
  return searchWindows(index, q, k).map((h) => h.trackId);
}

// ---- queries ---------------------------------------------------------------------------------
const tmp = await Deno.makeTempDir({ prefix: "quality-bench-" });
/** The Q1 distortion: 4-6 dB quieter, pink noise at 25-30 dB SNR, 64 kbit/s MP3, decoded at 16 kHz. */
async function degrade(samples44: Float32Array, random: () => number, name: string): Promise<DecodedAudio> {
  const quieter = applyGainDb(samples44, -(4 + 2 * random()));
  const noisy = addNoise(
    quieter,
    pinkNoise(quieter.length, Math.floor(random() * 2 ** 31)),
    25 + 5 * random(),
  );
  const path = join(tmp, `${name}.mp3`);
  await encodeMp3({ sampleRate: ENCODE_RATE, channels: [noisy] }, path, { bitrateKbps: 64 });
  const out = await decodeAudio(path, { sampleRate: SR });
  await Deno.remove(path);
  return out;
}

type Query = { name: string; clip: number; vector: Float32Array; seconds: number };
const queries: Record<string, Query[]> = {
  "Q0 -12 dB": [],
  "Q0 -6 dB": [],
  "Q0 +6 dB": [],
  Q1a: [],
  Q1b: [],
};
let q1bSkipped = 0;
for (const [i, c] of catalog.entries()) {
  const random = mulberry32(1000 + i);
  for (const db of [-12, -6, 6]) {
    let x = applyGainDb(c.audio.samples, db);
    if (db > 0) x = limit(x, { sampleRate: SR });
    queries[`Q0 ${db > 0 ? "+" : ""}${db} dB`]!.push({
      name: c.path,
      clip: i,
      vector: await embedder.embedAudio({ ...c.audio, samples: x }),
      seconds: c.audio.seconds,
    });
  }
  const full44 = (await decodeAudio(c.path, { sampleRate: ENCODE_RATE, maxSeconds: 1200 })).samples;
  const copy = await degrade(full44, random, `a${i}`);
  queries.Q1a!.push({
    name: c.path,
    clip: i,
    vector: await embedder.embedAudio(copy),
    seconds: copy.seconds,
  });
  const seconds = full44.length / ENCODE_RATE;
  if (seconds <= 10) {
    q1bSkipped++;
    continue;
  }
  const start = random() * (seconds - 10);
  const part = await degrade(excerpt(full44, ENCODE_RATE, start, 10), random, `b${i}`);
  queries.Q1b!.push({
    name: c.path,
    clip: i,
    vector: await embedder.embedAudio(part),
    seconds: part.seconds,
  });
}
await Deno.remove(tmp, { recursive: true });
if (vectorsFile !== undefined) {
  await Deno.mkdir(dirname(vectorsFile), { recursive: true });
  await Deno.writeTextFile(
    vectorsFile,
    JSON.stringify({
      split,
      models: manifest.embeddingOrder,
      clips: catalog.map((c) => ({
        name: c.path.split("/").at(-1),
        path: c.path,
        label: c.label,
        mood: c.mood,
        seconds: c.audio.seconds,
        // the block weights the product searches with this clip as a query
        weights: queryBlockWeights(c.audio.seconds),
        vector: Array.from(c.vector),
      })),
      queries: Object.fromEntries(
        Object.entries(queries).map((
          [q, list],
        ) => [
          q,
          list.map((x) => ({
            clip: x.clip,
            seconds: x.seconds,
            weights: queryBlockWeights(x.seconds),
            vector: Array.from(x.vector),
          })),
        ]),
      ),
    }) + "\n",
  );
  console.log(`Vectors written to ${vectorsFile}`);
}

// ---- figures ---------------------------------------------------------------------------------
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const results: Record<string, unknown> = {};
console.log(
  `\nQuality on real audio (${catalog.length} catalog clips; Q1b: ${queries.Q1b!.length} clips over 10 s)`,
);
console.log("| query | method | index | first | top 5 | target |");
console.log("|---|---|---|---|---|---|");
const targets: Record<string, string> = {
  "Q0 -12 dB": "first >= 98 %",
  "Q0 -6 dB": "first >= 98 %",
  "Q0 +6 dB": "first >= 98 %",
  Q1a: "first >= 98 %",
  Q1b: "first >= 80 %, top 5 >= 95 %",
};
for (const [q, list] of Object.entries(queries)) {
  for (const method of METHODS) {
    for (const kind of KINDS) {
      let first = 0, top5 = 0, firstMood = 0, nMood = 0;
      const missed: string[] = [];
      const ranks: number[] = [];
      for (const query of list) {
        const ranked = rank(query.vector, query.seconds, method, indexes[method][kind], 5);
        const hit = ranked.indexOf(query.clip);
        ranks.push(hit < 0 ? 0 : hit + 1);
        if (hit !== 0) {
          missed.push(`${query.name.split("/").at(-1)} (${hit < 0 ? "not in top 5" : `#${hit + 1}`})`);
        }
        if (hit === 0) first++;
        if (hit >= 0) top5++;
        if (catalog[query.clip]!.mood) {
          nMood++;
          if (hit === 0) firstMood++;
        }
      }
      const r = {
        first: first / list.length,
        top5: top5 / list.length,
        firstMood: firstMood / nMood,
        firstShared: (first - firstMood) / (list.length - nMood),
        n: list.length,
        missed,
        // per query in catalog order (0: not in the top 5), so two runs can be compared query by query
        ranks,
      };
      results[`${q}/${method}/${kind}`] = r;
      console.log(
        `| ${q} | ${method} | ${kind} | ${pct(r.first)} (mood ${pct(r.firstMood)}, shared ${
          pct(r.firstShared)
        }) | ${pct(r.top5)} | ${targets[q]} |`,
      );
    }
  }
}

for (const q of ["Q0 +6 dB", "Q1a", "Q1b"]) {
  for (const key of [`${q}/whole/flat`, `${q}/segment/flat`]) {
    const missed = (results[key] as { missed: string[] }).missed;
    if (missed.length > 0) console.log(`missed, ${key}: ${missed.join(", ")}`);
  }
}

// How far a copy lands from its source (whole-clip squared L2). When the query is itself a catalog file,
// the product also leaves out hits closer than SAME_AUDIO_SQUARED_DISTANCE (core/recommend/recommend.ts).
for (const q of ["Q0 -12 dB", "Q0 +6 dB", "Q1a"]) {
  const d2 = queries[q]!.map((x) => {
    const c = catalog[x.clip]!.vector;
    return x.vector.reduce((s, v, j) => s + (v - c[j]!) ** 2, 0);
  }).sort((a, b) => a - b);
  const below = d2.filter((d) => d <= SAME_AUDIO_SQUARED_DISTANCE).length;
  console.log(
    `${q}: squared distance to the source: median ${d2[d2.length >> 1]!.toExponential(2)}, min ${
      d2[0]!.toExponential(2)
    }; ${below} of ${d2.length} within the product's same-audio threshold (${SAME_AUDIO_SQUARED_DISTANCE})`,
  );
}

// Q2: cluster agreement of the top 5 among held-out mood clips.
const moodIdx = catalog.flatMap((c, i) => (c.mood ? [i] : []));
const moodSet = new Set(moodIdx);
/** Per-query precision of the top 5 among held-out mood clips, by a labelling of the clips. */
const precisions = (neighbours: (i: number) => number[], labelOf: (i: number) => string) =>
  moodIdx.map((i) => {
    const top = neighbours(i).filter((j) => j !== i && moodSet.has(j)).slice(0, 5);
    return top.filter((j) => labelOf(j) === labelOf(i)).length / 5;
  });
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** 95 % bootstrap interval of the mean over the query clips (1000 resamples, fixed seed). */
const interval = (xs: readonly number[]) => bootstrapMean95(xs, 1000, 12);
const ci = (xs: readonly number[]) => {
  const [lo, hi] = interval(xs);
  return `${mean(xs).toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}]`;
};
const agreement = (neighbours: (i: number) => number[]) =>
  mean(precisions(neighbours, (i) => catalog[i]!.label));
const counts = new Map<string, number>();
for (const i of moodIdx) counts.set(catalog[i]!.label, (counts.get(catalog[i]!.label) ?? 0) + 1);
const n = moodIdx.length;
const chance = [...counts.values()].reduce((s, c) => s + (c * (c - 1)) / (n * (n - 1)), 0);
const baselineP5 = agreement((i) =>
  baselineIndex.search(baselineVectors[i]!, catalog.length).map((h) => h.trackId)
);
console.log(
  `\nQ2: mood-cluster agreement of the top 5 among ${n} held-out mood clips (chance ${
    chance.toFixed(3)
  }, log-mel statistics baseline ${baselineP5.toFixed(3)}; target >= ${(baselineP5 + 0.1).toFixed(3)})`,
);
console.log("| method | index | P@5 [95 % interval] | vs baseline | vs chance |");
console.log("|---|---|---|---|---|");
const moodLabel = (i: number) => catalog[i]!.label;
for (const method of METHODS) {
  for (const kind of KINDS) {
    const per = precisions(
      (i) =>
        rank(catalog[i]!.vector, catalog[i]!.audio.seconds, method, indexes[method][kind], catalog.length),
      moodLabel,
    );
    const p5 = mean(per);
    results[`Q2/${method}/${kind}`] = {
      p5,
      interval95: interval(per),
      baseline: baselineP5,
      chance,
      // per query in catalog order, for paired comparisons of two runs (bench/compare_quality.ts)
      perQuery: per,
      queries: moodIdx.map((i) => catalog[i]!.path.split("/").at(-1)),
    };
    console.log(
      `| ${method} | ${kind} | ${ci(per)} | ${
        (p5 - baselineP5 >= 0 ? "+" : "") + (p5 - baselineP5).toFixed(3)
      } | ${(p5 - chance >= 0 ? "+" : "") + (p5 - chance).toFixed(3)} |`,
    );
  }
}
const baselinePer = precisions(
  (i) => baselineIndex.search(baselineVectors[i]!, catalog.length).map((h) => h.trackId),
  moodLabel,
);
results["Q2/baseline"] = { p5: mean(baselinePer), interval95: interval(baselinePer) };
console.log(`| log-mel statistics baseline | flat | ${ci(baselinePer)} | | |`);

// ---- teacher rows (issue 12) -------------------------------------------------------------------
/** The teacher's cached outputs of a clip, or undefined when the cache lacks them. */
async function teacherOf(path: string, id: "msd" | "mtt"): Promise<TeacherOutput | undefined> {
  try {
    return await readTeacherOutput(
      teacherTargets,
      id,
      await sha256File(path),
      path,
      id === "mtt" ? MTT_STRIDE : 1,
    );
  } catch (err) {
    if (isSoundalikeError(err, "bad_dataset")) return undefined;
    throw err;
  }
}
const msdOut = await Promise.all(moodIdx.map((i) => teacherOf(catalog[i]!.path, "msd")));
const mttOut = await Promise.all(moodIdx.map((i) => teacherOf(catalog[i]!.path, "mtt")));
if (msdOut.some((o) => o === undefined)) {
  console.log(
    `\nTeacher rows skipped: no MSD teacher targets for ${
      msdOut.filter((o) => o === undefined).length
    } held-out clips in ${teacherTargets} (run \`deno task teacher-targets\`)`,
  );
} else {
  const all = (o: TeacherOutput) => Array.from({ length: o.n }, (_, k) => k);
  const tagMean = (o: TeacherOutput) => meanRows(o.tags, o.tags.length / o.n, all(o));
  const embMean = (o: TeacherOutput) => meanRows(o.embedding, o.embedding.length / o.n, all(o));
  const topOf = (map: TagMap, o: TeacherOutput) => {
    const s = classScores(map, tagMean(o));
    return mapClasses(map)[s.indexOf(Math.max(...s))]!;
  };
  const pos = new Map(moodIdx.map((i, k) => [i, k]));
  const teacherGenre = (i: number) => topOf(GENRE_TAG_MAP, msdOut[pos.get(i)!]!);
  /** Ranks held-out mood clips by L2 between vectors (the query first). */
  const ranker = (vs: Float32Array[]) => (i: number) => {
    const q = vs[pos.get(i)!]!;
    return moodIdx.map((j) => [j, vs[pos.get(j)!]!.reduce((s, v, d) => s + (v - q[d]!) ** 2, 0)] as const)
      .sort((a, b) => a[1] - b[1]).map(([j]) => j);
  };
  const tagVectors = msdOut.map((o) => tagMean(o!));
  const embVectors = msdOut.map((o) => embMean(o!));
  console.log(
    `\nTeacher rows: MusiCNN MSD (${teacherTargets}); genre label = the teacher's top genre (MSD tags mapped as training/teacher/targets.ts)`,
  );
  console.log("| vectors | mood P@5 [95 %] | teacher-genre P@5 [95 %] |");
  console.log("|---|---|---|");
  const rows: [string, (i: number) => number[]][] = [
    ["teacher MSD tag probabilities (50-d)", ranker(tagVectors)],
    ["teacher MSD embedding (200-d)", ranker(embVectors)],
    [
      "students, whole clip (flat)",
      (i) => rank(catalog[i]!.vector, catalog[i]!.audio.seconds, "whole", indexes.whole.flat, catalog.length),
    ],
    [
      "students, segment (flat)",
      (i) =>
        rank(catalog[i]!.vector, catalog[i]!.audio.seconds, "segment", indexes.segment.flat, catalog.length),
    ],
    [
      "log-mel statistics baseline",
      (i) => baselineIndex.search(baselineVectors[i]!, catalog.length).map((h) => h.trackId),
    ],
  ];
  for (const [name, nb] of rows) {
    const m = precisions(nb, moodLabel), g = precisions(nb, teacherGenre);
    results[`Teacher/${name}`] = {
      moodP5: mean(m),
      moodInterval95: interval(m),
      genreP5: mean(g),
      genreInterval95: interval(g),
      // per query in catalog order, for paired comparisons (bench/compare_quality.ts)
      moodPerQuery: m,
      genrePerQuery: g,
    };
    console.log(`| ${name} | ${ci(m)} | ${ci(g)} |`);
  }
  // students' top-1 agreement with the teacher, and what the cards show
  console.log(
    "| student | classes | top-1 agreement with the teacher | cards showing a label | agreement when shown | clips the teacher gives a class (>= floor): card shows it |",
  );
  console.log("|---|---|---|---|---|---|");
  for (
    const [task, map, outs] of [["genre", GENRE_TAG_MAP, msdOut], [
      "instrument",
      INSTRUMENT_TAG_MAP,
      mttOut,
    ]] as const
  ) {
    const mi = manifest.embeddingOrder.indexOf(task);
    const classes = manifest.models[task].classes;
    if (classes.join() !== mapClasses(map).join()) {
      console.log(`| ${task} | ${classes.join(", ")} | n/a: not the teacher's classes | | |`);
      continue;
    }
    const have = moodIdx.filter((_, k) => outs[k] !== undefined);
    let agree = 0, shown = 0, shownAgree = 0, withClass = 0, cardRight = 0;
    for (const i of have) {
      const h = catalog[i]!.hearing!;
      const best = confidentClasses([{ ...h[mi]!, minConfidence: 0 }])[0]!;
      const out = outs[pos.get(i)!]!;
      const teacher = topOf(map, out);
      // the outside check's kind of recording: one whose genre is among our classes (the
      // calibration's reference: the teacher's top class reaches TEACHER_FLOOR)
      const hasClass = teacherClipReference(map, out, TEACHER_FLOOR).label !== NO_CLASS;
      const isShown = confidentClasses([h[mi]!]).length > 0;
      if (best.className === teacher) agree++;
      if (isShown) {
        shown++;
        if (best.className === teacher) shownAgree++;
      }
      if (hasClass) {
        withClass++;
        if (isShown && best.className === teacher) cardRight++;
      }
    }
    results[`Teacher/agreement/${task}`] = {
      clips: have.length,
      top1: agree / have.length,
      shown: shown / have.length,
      shownAgreement: shown === 0 ? null : shownAgree / shown,
      clipsWithClass: withClass,
      cardRightWithClass: withClass === 0 ? null : cardRight / withClass,
    };
    console.log(
      `| ${task} | ${classes.length} | ${(agree / have.length).toFixed(3)} (${have.length} clips) | ${
        pct(shown / have.length)
      } | ${shown === 0 ? "-" : (shownAgree / shown).toFixed(3)} | ${
        withClass === 0 ? "-" : `${pct(cardRight / withClass)} of ${withClass}`
      } |`,
    );
  }
}

// ---- maps ------------------------------------------------------------------------------------
await Deno.mkdir(outDir, { recursive: true });
const moodClips = moodIdx.map((i) => catalog[i]!);
const blocksOf = (v: Float32Array, model: number) => v.slice(model * 768, (model + 1) * 768);
const maps: [string, Float32Array[]][] = [
  ["genre", moodClips.map((c) => blocksOf(c.vector, 0))],
  ["emotion", moodClips.map((c) => blocksOf(c.vector, 1))],
  ["instrument", moodClips.map((c) => blocksOf(c.vector, 2))],
  ["clip", moodClips.map((c) => c.vector)],
];
for (const [name, rows] of maps) {
  const { coords, explained } = pca(rows);
  const what = name === "clip" ? "2304-d clip vector" : `${name} model (3 windows, 768-d)`;
  await Deno.writeTextFile(
    join(outDir, `map_${name}.svg`),
    scatterSvg(coords, moodClips.map((c) => c.label), `Held-out mood clips: ${what}`, [
      `PC 1 (${pct(explained[0]!)})`,
      `PC 2 (${pct(explained[1]!)})`,
    ]),
  );
}
await Deno.writeTextFile(
  join(outDir, "quality.json"),
  JSON.stringify(
    {
      measuredAt: new Date().toISOString(),
      split,
      models: Object.fromEntries(
        manifest.embeddingOrder.map((t) => [t, manifest.models[t].sha256]),
      ),
      catalog: {
        clips: catalog.length,
        heldOutMood: moodIdx.length,
        shared: catalog.length - moodIdx.length,
        refused,
      },
      q1bSkipped,
      results,
    },
    null,
    2,
  ) + "\n",
);
console.log(
  `\nMaps and figures written to ${outDir}/ (map_genre.svg, map_emotion.svg, map_instrument.svg, map_clip.svg, quality.json)`,
);
await embedder.close();
