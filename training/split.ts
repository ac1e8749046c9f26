/**
 * Track-level train / validation / test split and class balancing.
 *
 * **No leakage**: items are split by `group` (a track, or whatever a loader says belongs together),
 * so the segments of one track never land in two splits. (The paper's published code split
 * segments, which lets a model see test tracks during training.)
 *
 * **Stratified and seeded**: within each class the groups are shuffled with a seeded PRNG and cut by
 * the split fractions, so every split holds every class in the dataset's proportions and the same seed
 * gives the same split.
 *
 * **Balancing** (as the paper did: GTZAN is balanced by design at 100 clips per genre, and the
 * instrument set was reduced to about 100 files per class): {@linkcode balanceClasses} caps each class
 * at `perClass` items (a seeded random subset), and, with `oversample`, repeats random items of
 * smaller classes in the *training* split until each class reaches the largest class's count, so
 * the loss weighs classes equally without ever copying a track into validation or test.
 * @module
 */
import type { Dataset, DatasetItem } from "./datasets/types.ts";
import { mulberry32 } from "../core/mod.ts";

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  return mulberry32((seed >>> 0) ^ 0x9e3779b9);
}

/**
 * Fisher-Yates shuffle of a copy.
 *
 * @param items What to shuffle.
 * @param random A generator from {@linkcode seededRandom}.
 * @returns A new, shuffled array.
 */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Fractions of the groups per split; the test split gets the rest. */
export interface SplitFractions {
  /** @default 0.7 */
  train: number;
  /** @default 0.15 */
  validation: number;
}

/** The three splits. */
export interface Splits<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/** Default fractions: 70 / 15 / 15. */
export const DEFAULT_SPLIT: Readonly<SplitFractions> = Object.freeze({ train: 0.7, validation: 0.15 });

/**
 * The seed of the mood set's one split. Every model, the calibration, the teacher targets and the quality
 * benchmark use it, whatever seed a training run draws its weights and batches with: a run with another
 * seed must not train on the clips the others hold out.
 */
export const MOOD_SPLIT_SEED = 1;

/**
 * The seed a dataset is split with: {@linkcode MOOD_SPLIT_SEED} for the mood set, the run's seed for any
 * other dataset.
 *
 * @param dataset The dataset (its layout).
 * @param seed The training run's seed.
 * @returns The split's seed.
 */
export function splitSeedOf(dataset: Pick<Dataset, "layout">, seed: number): number {
  return dataset.layout === "mirex" ? MOOD_SPLIT_SEED : seed;
}

/**
 * Splits items by group, stratified by class, seeded.
 *
 * A group's class is the label of its first item (groups are single-label in every supported
 * dataset). Each class with `n` groups gives `round(n * validation)` groups to validation and
 * `round(n * test)` to test, at least one each when it has three groups or more, and the rest to
 * training. Groups with an item pinned to the test split (`pinnedSplit`) go there and count towards
 * their class's test share.
 *
 * @param items Labelled items with groups.
 * @param seed Seed of the shuffle.
 * @param fractions Train and validation fractions; test is the rest.
 * @returns The three splits (items in their original relative order).
 * @throws {RangeError} When the fractions are not in (0, 1) or leave nothing for the test split.
 * @example
 * ```ts
 * import { splitByGroup } from "./split.ts";
 * const items = Array.from({ length: 20 }, (_, i) => ({ label: i % 2 ? "a" : "b", group: `t${i}` }));
 * const s = splitByGroup(items, 1);
 * console.assert(s.train.length + s.validation.length + s.test.length === 20);
 * ```
 */
export function splitByGroup<T extends Pick<DatasetItem, "label" | "group" | "pinnedSplit">>(
  items: readonly T[],
  seed: number,
  fractions: SplitFractions = DEFAULT_SPLIT,
): Splits<T> {
  const { train, validation } = fractions;
  if (!(train > 0 && validation >= 0 && train + validation < 1)) {
    throw new RangeError(
      `Split fractions must leave room for a test split: train ${train}, validation ${validation}`,
    );
  }
  const testFraction = 1 - train - validation;
  const groupsByClass = new Map<string, string[]>();
  const pinned = new Set<string>();
  const seen = new Set<string>();
  for (const it of items) {
    if (it.pinnedSplit === "test") pinned.add(it.group);
    if (seen.has(it.group)) continue;
    seen.add(it.group);
    const list = groupsByClass.get(it.label) ?? [];
    list.push(it.group);
    groupsByClass.set(it.label, list);
  }
  const where = new Map<string, keyof Splits<T>>();
  const random = seededRandom(seed);
  for (const label of [...groupsByClass.keys()].sort()) {
    const all = groupsByClass.get(label)!;
    const groups = shuffled(all.filter((g) => !pinned.has(g)), random);
    for (const g of all) if (pinned.has(g)) where.set(g, "test");
    const n = all.length;
    const atLeast = (k: number) => (n >= 3 && validation > 0 ? Math.max(1, k) : k);
    const wantTest = n >= 3 ? Math.max(1, Math.round(n * testFraction)) : Math.round(n * testFraction);
    const nTest = Math.max(0, Math.min(wantTest - (n - groups.length), groups.length - (n >= 3 ? 1 : 0)));
    const nVal = Math.max(
      0,
      Math.min(atLeast(Math.round(n * validation)), groups.length - nTest - (n >= 3 ? 1 : 0)),
    );
    groups.forEach((g, i) => where.set(g, i < nTest ? "test" : i < nTest + nVal ? "validation" : "train"));
  }
  const out: Splits<T> = { train: [], validation: [], test: [] };
  for (const it of items) out[where.get(it.group)!].push(it);
  return out;
}

/** Options of {@linkcode balanceClasses}. */
export interface BalanceOptions {
  /** Cap each class at this many items (a seeded random subset). */
  perClass?: number;
  /** Repeat random items of smaller classes until every class has as many as the largest. */
  oversample?: boolean;
  /** Seed of the subset and the repeats. @default 1 */
  seed?: number;
}

/**
 * Caps classes and/or oversamples smaller classes. Use the cap on whole datasets (before the split)
 * and oversampling on the training split only.
 *
 * @param items Labelled items.
 * @param opts Cap, oversampling and seed.
 * @returns The kept items (capped ones in their original order, repeats appended) and the dropped.
 */
export function balanceClasses<T extends Pick<DatasetItem, "label">>(
  items: readonly T[],
  opts: BalanceOptions,
): { kept: T[]; dropped: T[] } {
  const random = seededRandom(opts.seed ?? 1);
  const byClass = new Map<string, T[]>();
  for (const it of items) byClass.set(it.label, [...(byClass.get(it.label) ?? []), it]);
  const keep = new Set<T>();
  const dropped: T[] = [];
  for (const label of [...byClass.keys()].sort()) {
    const list = byClass.get(label)!;
    const chosen = opts.perClass !== undefined && list.length > opts.perClass
      ? new Set(shuffled(list, random).slice(0, opts.perClass))
      : new Set(list);
    for (const it of list) {
      if (chosen.has(it)) keep.add(it);
      else dropped.push(it);
    }
  }
  const kept = items.filter((it) => keep.has(it));
  if (opts.oversample) {
    const counts = new Map<string, T[]>();
    for (const it of kept) counts.set(it.label, [...(counts.get(it.label) ?? []), it]);
    const target = Math.max(0, ...[...counts.values()].map((l) => l.length));
    for (const label of [...counts.keys()].sort()) {
      const list = counts.get(label)!;
      for (let n = list.length; n < target; n++) kept.push(list[Math.floor(random() * list.length)]!);
    }
  }
  return { kept, dropped };
}

/**
 * Counts items per label.
 *
 * @param items Labelled items.
 * @returns label -> count.
 */
export function countByLabel(items: readonly Pick<DatasetItem, "label">[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) out[it.label] = (out[it.label] ?? 0) + 1;
  return out;
}
