/**
 * From teacher tags to student targets: which MusiCNN tags make each student class, and the target of
 * one student window (10 s) as the mean of the teacher's 3 s patches inside it.
 *
 * **Genre** (MSD tags; the score of a class is the largest probability among its tags, then the ten
 * scores are normalised to a distribution): the paper's GTZAN genres that an MSD tag covers keep their
 * names (blues, country, hiphop, jazz, metal, pop, rock); `classical`, `disco` and `reggae` are dropped
 * (no MSD tag; MTT's `classical` exists but the MTT teacher ran on a third of the patches only);
 * `electronic`, `folk` and `rnb` are added because MSD tags them and real catalogs hold them.
 *
 * **Instrument** (MTT tags, same rule): drums, flute, guitar, piano (+ harpsichord), strings (strings,
 * violin, cello, harp), synth, voice (vocal, vocals, voice, singing).
 * @module
 */
import { MSD_TAGS, MTT_TAGS, type TeacherId, type TeacherOutput } from "./teacher.ts";
import { MUSICNN_PATCH_SECONDS } from "./musicnn_input.ts";

/** A student task's classes and the teacher tags behind each. */
export interface TagMap {
  teacher: TeacherId;
  /** Class name -> teacher tags (the class scores the largest of their probabilities). */
  classes: Readonly<Record<string, readonly string[]>>;
}

/** The genre student's classes from MSD tags. */
export const GENRE_TAG_MAP: TagMap = Object.freeze({
  teacher: "msd",
  classes: Object.freeze({
    blues: ["blues"],
    country: ["country"],
    electronic: ["electronic", "electronica", "electro", "House"],
    folk: ["folk"],
    hiphop: ["Hip-Hop"],
    jazz: ["jazz"],
    metal: ["metal", "heavy metal"],
    pop: ["pop", "indie pop"],
    rnb: ["rnb", "soul", "funk"],
    rock: ["rock", "classic rock", "hard rock", "alternative rock", "indie rock", "punk", "Progressive rock"],
  }),
});

/** The instrument student's classes from MTT tags. */
export const INSTRUMENT_TAG_MAP: TagMap = Object.freeze({
  teacher: "mtt",
  classes: Object.freeze({
    drums: ["drums"],
    flute: ["flute"],
    guitar: ["guitar"],
    piano: ["piano", "harpsichord"],
    strings: ["strings", "violin", "cello", "harp"],
    synth: ["synth"],
    voice: ["vocal", "vocals", "voice", "singing"],
  }),
});

/**
 * The class names of a map, in output order (sorted).
 *
 * @param map The tag map.
 * @returns Class names.
 */
export function mapClasses(map: TagMap): string[] {
  return Object.keys(map.classes).sort();
}

/**
 * Class scores from one row of tag probabilities: per class, the largest probability among its tags.
 *
 * @param map The tag map.
 * @param tags The teacher's tag probabilities (50).
 * @returns One score per class, in {@linkcode mapClasses} order.
 */
export function classScores(map: TagMap, tags: ArrayLike<number>): Float32Array {
  const names = map.teacher === "msd" ? MSD_TAGS : MTT_TAGS;
  const classes = mapClasses(map);
  const out = new Float32Array(classes.length);
  classes.forEach((c, k) => {
    let best = 0;
    for (const tag of map.classes[c]!) {
      const j = names.indexOf(tag);
      if (j < 0) throw new Error(`Unknown ${map.teacher} tag ${tag}`);
      best = Math.max(best, tags[j]!);
    }
    out[k] = best;
  });
  return out;
}

/**
 * Normalises scores to a distribution (uniform when all are 0).
 *
 * @param scores Non-negative scores.
 * @returns Probabilities summing to 1.
 */
export function toDistribution(scores: Float32Array): Float32Array {
  const sum = scores.reduce((a, b) => a + b, 0);
  return sum > 0 ? scores.map((s) => s / sum) : scores.map(() => 1 / scores.length);
}

/**
 * Which of a teacher's cached patches fall inside a window: those starting and ending within it (with
 * 0.75 s of slack); when none does, the patch whose centre is nearest the window's.
 *
 * @param patchIndices The clip's patch index of each cached row (all patches, or a strided subset).
 * @param start Window start in seconds.
 * @param end Window end in seconds.
 * @returns Row numbers into the cached output (never empty when `patchIndices` is not).
 */
export function rowsInWindow(patchIndices: readonly number[], start: number, end: number): number[] {
  const slack = 0.75;
  const rows: number[] = [];
  patchIndices.forEach((p, r) => {
    const s = p * MUSICNN_PATCH_SECONDS, e = (p + 1) * MUSICNN_PATCH_SECONDS;
    if (s >= start - slack && e <= end + slack) rows.push(r);
  });
  if (rows.length > 0 || patchIndices.length === 0) return rows;
  const mid = (start + end) / 2;
  let best = 0;
  patchIndices.forEach((p, r) => {
    const d = Math.abs((p + 0.5) * MUSICNN_PATCH_SECONDS - mid);
    if (d < Math.abs((patchIndices[best]! + 0.5) * MUSICNN_PATCH_SECONDS - mid)) best = r;
  });
  return [best];
}

/**
 * Mean of the given rows of a row-major matrix.
 *
 * @param data `rows * width` values.
 * @param width Row width.
 * @param rows Rows to average.
 * @returns The mean row.
 */
export function meanRows(data: Float32Array, width: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(width);
  for (const r of rows) for (let j = 0; j < width; j++) out[j]! += data[r * width + j]! / rows.length;
  return out;
}

/** A window's teacher targets. */
export interface WindowTarget {
  /** The class distribution. */
  probs: Float32Array;
  /** The teacher's mean 200-d embedding (MSD), when asked for. */
  embedding?: Float32Array;
}

/**
 * The targets of one student window.
 *
 * @param map The task's tag map.
 * @param tagOut The cached output of the map's teacher.
 * @param tagPatches Patch index of each of its rows.
 * @param embOut The MSD output (for the embedding), or `undefined`.
 * @param start Window start in seconds.
 * @param end Window end in seconds.
 * @returns Probabilities and, with `embOut`, the mean embedding.
 */
export function windowTarget(
  map: TagMap,
  tagOut: TeacherOutput,
  tagPatches: readonly number[],
  embOut: TeacherOutput | undefined,
  start: number,
  end: number,
): WindowTarget {
  const tagWidth = tagOut.tags.length / tagOut.n;
  const tags = meanRows(tagOut.tags, tagWidth, rowsInWindow(tagPatches, start, end));
  const probs = toDistribution(classScores(map, tags));
  return embOut === undefined ? { probs } : { probs, embedding: windowEmbedding(embOut, start, end) };
}

/**
 * The MSD teacher's mean embedding over the patches inside one student window (every patch is run for
 * the embedding).
 *
 * @param embOut The MSD output.
 * @param start Window start in seconds.
 * @param end Window end in seconds.
 * @returns The mean 200-d embedding.
 */
export function windowEmbedding(embOut: TeacherOutput, start: number, end: number): Float32Array {
  const all = Array.from({ length: embOut.n }, (_, i) => i);
  return meanRows(embOut.embedding, embOut.embedding.length / embOut.n, rowsInWindow(all, start, end));
}
