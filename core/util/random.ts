/**
 * One small seeded pseudo-random generator (mulberry32) for everything that must be reproducible:
 * index training samples, data splits, the synthetic corpus, test and benchmark data.
 * @module
 */

/**
 * A mulberry32 generator: fast, 32-bit state, good enough for sampling and synthetic data (not
 * for cryptography).
 *
 * @param seed Any integer; only its low 32 bits are used.
 * @returns A function giving floats in [0, 1); the same seed gives the same sequence everywhere.
 * @example
 * ```ts
 * import { mulberry32 } from "./random.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * console.assert(a() === b() && a() !== mulberry32(8)());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
