/**
 * A small seeded pseudo-random generator (mulberry32) and seed hashing, so every composition is a pure
 * function of its seed: the same seed gives the same MIDI bytes on every machine.
 * @module
 */
import { mulberry32 } from "../../core/mod.ts";

/** A seeded random source. All draws advance one internal 32-bit state. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** A float in [lo, hi). */
  range(lo: number, hi: number): number;
  /** `true` with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** One element chosen with the given non-negative weights. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T;
  /** A new independent generator derived from this one's seed and a label (does not advance this one). */
  fork(label: string): Rng;
}

/**
 * FNV-1a over the string forms of `parts`, as an unsigned 32-bit seed.
 *
 * @param parts Anything that identifies what is being seeded (corpus seed, task, class, index).
 * @returns A 32-bit unsigned integer.
 * @example
 * ```ts
 * import { hashSeed } from "./prng.ts";
 * console.assert(hashSeed(1, "genre", "jazz", 0) === hashSeed(1, "genre", "jazz", 0));
 * ```
 */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.map(String).join("\u0001");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A mulberry32 generator.
 *
 * @param seed Any integer; only its low 32 bits are used.
 * @returns An {@linkcode Rng}.
 * @example
 * ```ts
 * import { createRng } from "./prng.ts";
 * const a = createRng(7), b = createRng(7);
 * console.assert(a.next() === b.next());
 * ```
 */
export function createRng(seed: number): Rng {
  const origin = seed >>> 0;
  const next = mulberry32(origin);
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    range: (lo, hi) => lo + next() * (hi - lo),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError("pick() needs a non-empty array");
      return items[Math.floor(next() * items.length)] as T;
    },
    weighted<T>(items: readonly T[], weights: readonly number[]): T {
      if (items.length === 0 || items.length !== weights.length) {
        throw new RangeError("weighted() needs as many weights as items");
      }
      const total = weights.reduce((a, b) => a + b, 0);
      let r = next() * total;
      for (let i = 0; i < items.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return items[i] as T;
      }
      return items[items.length - 1] as T;
    },
    fork: (label) => createRng(hashSeed(origin, label)),
  };
  return rng;
}
