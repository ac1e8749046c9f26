/**
 * Writes the scale benchmark's seeds: `deno run -A bench/_scale_seeds.ts [--per-file 40]`
 * (see `bench/_scale_data.ts`), to `.cache/scale/seeds.f32`.
 * @module
 */
import { arg } from "./_util.ts";
import { embedSeeds } from "./_scale_data.ts";

const shared = new URL("../../shared/data", import.meta.url).pathname;
const models = new URL("../models", import.meta.url).pathname;
const out = new URL("../.cache/scale/seeds.f32", import.meta.url).pathname;
await Deno.mkdir(new URL("../.cache/scale/", import.meta.url).pathname, { recursive: true });
const seeds = await embedSeeds(arg("shared") ?? shared, models, Number(arg("per-file") ?? 40));
await Deno.writeFile(out, new Uint8Array(seeds.buffer));
console.log(`seeds: ${seeds.length / 2304} real embeddings in ${out}`);
