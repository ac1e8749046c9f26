/**
 * Paired comparison of two quality benchmark runs on the same split (`bench/quality_bench.ts --split
 * validation --models <dir> --out <dir>` for each candidate): for every P@5 both runs kept per query, the
 * two means and their paired difference with a 95 % bootstrap interval over the queries (the same queries
 * in both runs, so clip-to-clip spread cancels); for every Q0/Q1 row, first and top-5 rates of both runs and
 * the queries that only one of them missed. How a model choice is made on validation, reproducibly.
 *
 * Run: `node_modules/.bin/deno run -A bench/compare_quality.ts <A>/quality.json <B>/quality.json`
 * @module
 */
import { bootstrapMean95 } from "./_util.ts";

/** One quality run's `results`, as far as the comparison reads them. */
type Results = Record<string, Record<string, unknown>>;

/** Mean and 95 % paired bootstrap interval of `b - a` (2000 resamples of the queries, fixed seed). */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
): { diff: number; interval95: [number, number] } {
  if (a.length !== b.length || a.length === 0) throw new RangeError("paired runs need the same queries");
  const d = a.map((v, i) => b[i]! - v);
  return { diff: d.reduce((s, v) => s + v, 0) / d.length, interval95: bootstrapMean95(d, 2000, 7) };
}

const PER_QUERY = ["perQuery", "moodPerQuery", "genrePerQuery"] as const;

function compare(a: Results, b: Results): string[] {
  const lines: string[] = [];
  const f3 = (v: number) => v.toFixed(3);
  const signed = (v: number) => (v >= 0 ? "+" : "") + f3(v);
  lines.push("| figure | A | B | B - A [95 % paired interval] |", "|---|---|---|---|");
  for (const [key, ra] of Object.entries(a)) {
    const rb = b[key];
    if (rb === undefined) continue;
    for (const field of PER_QUERY) {
      const pa = ra[field], pb = rb[field];
      if (!Array.isArray(pa) || !Array.isArray(pb) || pa.length !== pb.length) continue;
      const { diff, interval95: [lo, hi] } = pairedDifference(pa as number[], pb as number[]);
      const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
      lines.push(
        `| ${key} ${field.replace("PerQuery", "").replace("perQuery", "P@5")} | ${f3(mean(pa))} | ${
          f3(mean(pb))
        } | ${signed(diff)} [${signed(lo)}, ${signed(hi)}] |`,
      );
    }
  }
  lines.push("", "| query | A first / top 5 | B first / top 5 | missed only by A | missed only by B |");
  lines.push("|---|---|---|---|---|");
  for (const [key, ra] of Object.entries(a)) {
    const rb = b[key];
    if (!/^Q[01]/.test(key) || rb === undefined || !Array.isArray(ra.missed)) continue;
    const ma = new Set((ra.missed as string[]).map((m) => m.replace(/ \(.*\)$/, "")));
    const mb = new Set((rb.missed as string[]).map((m) => m.replace(/ \(.*\)$/, "")));
    const pct = (v: unknown) => `${(100 * Number(v)).toFixed(1)} %`;
    lines.push(
      `| ${key} | ${pct(ra.first)} / ${pct(ra.top5)} | ${pct(rb.first)} / ${pct(rb.top5)} | ${
        [...ma].filter((m) => !mb.has(m)).join(", ")
      } | ${[...mb].filter((m) => !ma.has(m)).join(", ")} |`,
    );
  }
  return lines;
}

if (import.meta.main) {
  const [fileA, fileB] = Deno.args;
  if (fileA === undefined || fileB === undefined) {
    console.error("Usage: deno run -A bench/compare_quality.ts <A>/quality.json <B>/quality.json");
    Deno.exit(2);
  }
  const read = async (f: string) => (JSON.parse(await Deno.readTextFile(f)) as { results: Results }).results;
  console.log(`A: ${fileA}\nB: ${fileB}\n`);
  console.log(compare(await read(fileA), await read(fileB)).join("\n"));
}
