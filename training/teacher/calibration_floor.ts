/**
 * Where the teacher's tags become trustworthy, decided on validation clips: the floor of
 * {@linkcode teacherClipReference} (`TEACHER_FLOOR`).
 *
 * No human genre labels exist for the mood clips, but a second tagger does: the MTT MusiCNN, trained on
 * other people's tags (MagnaTagATune, not Last.fm), also tags rock, pop, electronic/techno, country and
 * metal. For each validation clip whose MSD top genre is one of those, we ask whether the MTT tagger
 * ranks the same genre first among them. The floor is the change point of that agreement over the MSD
 * top-class probability: the level that splits the clips into the two groups whose agreement rates are
 * most different (the largest two-segment Bernoulli likelihood). Below it the MSD teacher's genre is
 * confirmed about as often as a guess; above it, nearly always.
 * @module
 */
import { classScores, GENRE_TAG_MAP, mapClasses, meanRows, type TagMap } from "./targets.ts";
import type { TeacherOutput } from "./teacher.ts";

/** The genre classes the MTT tagger can confirm, and its tags for each. */
export const MTT_GENRE_CHECK: TagMap = Object.freeze({
  teacher: "mtt",
  classes: Object.freeze({
    country: ["country"],
    electronic: ["electronic", "techno"],
    metal: ["metal"],
    pop: ["pop"],
    rock: ["rock"],
  }),
});

/** One checkable clip: the MSD teacher's top genre probability and whether the MTT tagger agrees. */
export interface AgreementPoint {
  score: number;
  agrees: boolean;
}

function meanTags(out: TeacherOutput): Float32Array {
  return meanRows(out.tags, out.tags.length / Math.max(1, out.n), Array.from({ length: out.n }, (_, i) => i));
}

function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
}

/**
 * Whether the MTT tagger confirms the MSD teacher's genre for one clip.
 *
 * @param msd The clip's MSD tagger output.
 * @param mtt The clip's MTT tagger output (any stride).
 * @returns The MSD top-genre probability and the agreement, or `undefined` when the MSD top genre is
 * one the MTT tagger has no tag for.
 */
export function genreAgreement(msd: TeacherOutput, mtt: TeacherOutput): AgreementPoint | undefined {
  const genres = mapClasses(GENRE_TAG_MAP);
  const scores = classScores(GENRE_TAG_MAP, meanTags(msd));
  const top = genres[argmax(scores)]!;
  const checkable = mapClasses(MTT_GENRE_CHECK);
  if (!checkable.includes(top)) return undefined;
  const other = checkable[argmax(classScores(MTT_GENRE_CHECK, meanTags(mtt)))];
  return { score: Math.max(...scores), agrees: other === top };
}

function bernoulliLogLikelihood(points: readonly AgreementPoint[]): number {
  const n = points.length, k = points.filter((p) => p.agrees).length;
  if (k === 0 || k === n) return 0;
  const p = k / n;
  return k * Math.log(p) + (n - k) * Math.log(1 - p);
}

/** What {@linkcode changePointFloor} found. */
export interface FloorChoice {
  /** The chosen floor. */
  floor: number;
  /** Agreement rate and clips below and above it. */
  below: { clips: number; agreement: number };
  above: { clips: number; agreement: number };
  /** Twice the log-likelihood gain of the split over one rate for all clips. */
  likelihoodRatio: number;
}

/**
 * The floor on a grid (0.10, 0.125, …, 0.60) that best splits the points into two agreement rates,
 * keeping at least `minSide` points on each side.
 *
 * @param points Checkable clips.
 * @param minSide @default 10
 * @returns The choice, or `undefined` when no grid level leaves enough points on both sides.
 * @example
 * ```ts
 * import { changePointFloor } from "./calibration_floor.ts";
 * const points = Array.from({ length: 40 }, (_, i) => ({ score: i / 40, agrees: i >= 20 || i % 2 === 0 }));
 * console.assert(changePointFloor(points)?.floor === 0.5);
 * ```
 */
export function changePointFloor(points: readonly AgreementPoint[], minSide = 10): FloorChoice | undefined {
  const whole = bernoulliLogLikelihood(points);
  let best: FloorChoice | undefined;
  let bestLl = -Infinity;
  for (let i = 0; i <= 20; i++) {
    const floor = Math.round((0.1 + 0.025 * i) * 1000) / 1000;
    const below = points.filter((p) => p.score < floor), above = points.filter((p) => p.score >= floor);
    if (below.length < minSide || above.length < minSide) continue;
    const ll = bernoulliLogLikelihood(below) + bernoulliLogLikelihood(above);
    if (ll > bestLl) {
      bestLl = ll;
      const rate = (ps: AgreementPoint[]) => ps.filter((p) => p.agrees).length / ps.length;
      best = {
        floor,
        below: { clips: below.length, agreement: rate(below) },
        above: { clips: above.length, agreement: rate(above) },
        likelihoodRatio: 2 * (ll - whole),
      };
    }
  }
  return best;
}
