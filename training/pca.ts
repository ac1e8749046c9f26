/**
 * Principal component analysis for the quality benchmark's 2-D maps: the top principal components of
 * a few hundred embeddings, through the eigenvectors of the (small) Gram matrix of the centred rows
 * (power iteration with deflation), so the cost is `n² d` for `n` rows of `d` dims however large `d`.
 * @module
 */
import { mulberry32 } from "../core/mod.ts";

/** Result of {@linkcode pca}. */
export interface PcaResult {
  /** One row per input row: its coordinates on the components. */
  coords: number[][];
  /** Share of the total variance each component explains, in [0, 1]. */
  explained: number[];
}

/**
 * Projects rows on their top principal components.
 *
 * @param rows Equal-length vectors (at least two).
 * @param components How many components. @default 2
 * @returns Coordinates (centred) and explained variance shares; the sign of each component is fixed so
 *   that the largest-magnitude coordinate is positive.
 * @example
 * ```ts
 * import { pca } from "./pca.ts";
 * const rows = [[0, 0, 1], [2, 0, 1], [4, 0.1, 1], [6, 0, 1]].map((r) => Float32Array.from(r));
 * const { explained } = pca(rows);
 * console.assert(explained[0]! > 0.99);
 * ```
 */
export function pca(rows: readonly Float32Array[], components = 2): PcaResult {
  const n = rows.length;
  if (n < 2) throw new RangeError("PCA needs at least two rows");
  const d = rows[0]!.length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] = mean[j]! + r[j]! / n;
  const centred = rows.map((r) => Float64Array.from(r, (v, j) => v - mean[j]!));
  // Gram matrix G = X X^T (n x n); its eigenvectors u give the components' coordinates sqrt(l) u.
  const g = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let k = i; k < n; k++) {
      let s = 0;
      const a = centred[i]!, b = centred[k]!;
      for (let j = 0; j < d; j++) s += a[j]! * b[j]!;
      g[i]![k] = s;
      g[k]![i] = s;
    }
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += g[i]![i]!;
  const random = mulberry32(7);
  const coords = Array.from({ length: n }, () => [] as number[]);
  const explained: number[] = [];
  for (let c = 0; c < Math.min(components, n); c++) {
    let u = Float64Array.from({ length: n }, () => random() - 0.5);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += g[i]![k]! * u[k]!;
        next[i] = s;
      }
      const norm = Math.hypot(...next);
      if (norm === 0) break;
      for (let i = 0; i < n; i++) next[i] = next[i]! / norm;
      const delta = next.reduce((s, v, i) => s + Math.abs(v - u[i]!), 0);
      u = next;
      lambda = norm;
      if (delta < 1e-12) break;
    }
    // deflate: G -= lambda u u^T
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) g[i]![k] = g[i]![k]! - lambda * u[i]! * u[k]!;
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(u[i]!) > Math.abs(u[big]!)) big = i;
    const sign = u[big]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) coords[i]!.push(sign * Math.sqrt(Math.max(0, lambda)) * u[i]!);
    explained.push(trace > 0 ? lambda / trace : 0);
  }
  return { coords, explained };
}
