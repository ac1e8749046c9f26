/**
 * A listening party's taste. The vibe is a recency-weighted mean of the clip vectors shared so far
 * (the newest weighs 1, each older one `decay` times the next), with each 256-d block made unit
 * length again so distances to catalog vectors keep their meaning. The party's leading labels are
 * what the models heard most often in what was shared, weighted the same way.
 * @module
 */
import { unitBlock } from "../../core/mod.ts";
import type { HeardLabel } from "../answer.ts";

/** A shared clip as the vibe needs it, oldest first. */
export interface SharedClip {
  vector: Float32Array;
  labels: readonly HeardLabel[];
}

/** How fast older shares fade: each step back in time multiplies the weight by this. */
export const DEFAULT_DECAY = 0.7;

const BLOCK = 256;

/**
 * The party's vibe vector.
 *
 * @param shared What was shared, oldest first (at least one).
 * @param decay Weight ratio between consecutive shares. @default DEFAULT_DECAY
 * @returns A clip-shaped vector with unit blocks, or `undefined` when nothing was shared.
 * @example
 * ```ts
 * import { partyVibe } from "./vibe.ts";
 * const a = new Float32Array(256).fill(0); a[0] = 1;
 * const b = new Float32Array(256).fill(0); b[1] = 1;
 * const vibe = partyVibe([{ vector: a, labels: [] }, { vector: b, labels: [] }], 0.5)!;
 * console.assert(vibe[1]! > vibe[0]!, "the newest share counts most");
 * ```
 */
export function partyVibe(shared: readonly SharedClip[], decay = DEFAULT_DECAY): Float32Array | undefined {
  const first = shared[0];
  if (first === undefined) return undefined;
  const dims = first.vector.length;
  const sum = new Float64Array(dims);
  let weight = 1;
  for (let i = shared.length - 1; i >= 0; i--, weight *= decay) {
    const v = shared[i]!.vector;
    if (v.length !== dims) throw new RangeError(`Shared vectors differ in size: ${v.length} and ${dims}`);
    for (let d = 0; d < dims; d++) sum[d]! += weight * v[d]!;
  }
  const out = new Float32Array(dims);
  for (let at = 0; at < dims; at += BLOCK) {
    out.set(unitBlock(Float32Array.from(sum.subarray(at, at + BLOCK))), at);
  }
  return out;
}

/** One leading label of the party and its weighted share (0..1). */
export interface LeadingLabel extends HeardLabel {
  share: number;
}

/**
 * The labels heard most in what was shared, per model, most common first.
 *
 * @param shared What was shared, oldest first.
 * @param decay Weight ratio between consecutive shares. @default DEFAULT_DECAY
 * @returns Per task, the labels with their weighted shares.
 */
export function leadingLabels(
  shared: readonly SharedClip[],
  decay = DEFAULT_DECAY,
): Map<HeardLabel["task"], LeadingLabel[]> {
  const tallies = new Map<HeardLabel["task"], Map<string, { label: HeardLabel; weight: number }>>();
  const totals = new Map<HeardLabel["task"], number>();
  let weight = 1;
  for (let i = shared.length - 1; i >= 0; i--, weight *= decay) {
    for (const l of shared[i]!.labels) {
      const byClass = tallies.get(l.task) ?? new Map();
      tallies.set(l.task, byClass);
      const t = byClass.get(l.className) ?? { label: l, weight: 0 };
      t.weight += weight;
      byClass.set(l.className, t);
      totals.set(l.task, (totals.get(l.task) ?? 0) + weight);
    }
  }
  const out = new Map<HeardLabel["task"], LeadingLabel[]>();
  for (const [task, byClass] of tallies) {
    const total = totals.get(task) ?? 1;
    out.set(
      task,
      [...byClass.values()].map((t) => ({
        ...t.label,
        probability: t.label.probability,
        share: t.weight / total,
      }))
        .sort((a, b) => b.share - a.share || a.label.localeCompare(b.label)),
    );
  }
  return out;
}

/**
 * Why a track suits the party: the party's leading labels it shares, or its closeness.
 *
 * @param trackLabels The track's own labels (empty when unknown).
 * @param leading The party's leading labels.
 * @param similarity The track's similarity to the vibe, in percent.
 * @returns A short sentence.
 */
export function partyReason(
  trackLabels: readonly HeardLabel[],
  leading: Map<HeardLabel["task"], LeadingLabel[]>,
  similarity: number,
): string {
  const shared = trackLabels.filter((l) => leading.get(l.task)?.[0]?.className === l.className)
    .map((l) => (l.task === "emotion" ? `the ${l.label.toLowerCase()} mood` : l.label));
  const closeness = `${similarity.toFixed(0)} % like the party so far`;
  return shared.length
    ? `It shares the party's ${joinWords(shared)} (${closeness})`
    : `Closest to the party's vibe (${closeness})`;
}

function joinWords(words: string[]): string {
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}
