/**
 * A reindex at fma_large's size from cached embeddings (issue 13, item 3): the app's own
 * `reindex()` over 106,574 catalog tracks whose files are all in the embedding cache, measured in a
 * fresh process for its wall-clock time per stage and its **peak** resident memory (the kernel's
 * VmHWM), beside the catalog's vectors' size (what a reindex that held them would need at least).
 *
 * ```
 * node_modules/.bin/deno run -A bench/reindex_scale_bench.ts [--tracks 106574] [--vectors realistic|clustered]
 *   [--database postgres://postgres@127.0.0.1:5432/soundalike_bench_<tracks>_<vectors>]
 * ```
 * The catalog is prepared once and kept under `.cache/bench_reindex_scale/<tracks>-<vectors>/` (one
 * small distinct file per track, so hashing, the cache look-up and duplicate detection run as for real
 * files) with its tracks and cached vectors in a PostgreSQL database of its own (created when missing;
 * PGlite would run inside the measured process). Realistic vectors need `.cache/scale/seeds.f32`
 * (`deno run -A bench/_scale_seeds.ts`); clustered ones need nothing.
 * @module
 */
import { join } from "node:path";
import postgres from "postgres";
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { createConsoleLogger } from "../core/logger.ts";
import type { CatalogTrack } from "../core/catalog/types.ts";
import { count, eq } from "drizzle-orm";
import { putCachedEmbeddings, upsertTracks } from "../core/db/repository.ts";
import { embeddings } from "../core/db/schema.ts";
import { modelsHash } from "../core/model/manifest.ts";
import type { ProgressReporter } from "../core/catalog/reindex.ts";
import { sha256File } from "../core/util/files.ts";
import { arg, exists, loadAverage } from "./_util.ts";
import { benchTrack } from "./_catalog.ts";
import { clusteredTrack, DIM, realisticTrack } from "./_scale_data.ts";

const tracks = Number(arg("tracks") ?? 106_574);
const kind = arg("vectors") ?? "realistic";
// One database per catalog size and kind: a catalog's tracks and cached vectors are its own.
const databaseUrl = arg("database") ??
  `postgres://postgres@127.0.0.1:5432/soundalike_bench_${tracks}_${kind}`;
const root = new URL(`../.cache/bench_reindex_scale/${tracks}-${kind}/`, import.meta.url).pathname;
const audioDir = join(root, "audio");
const dataDir = join(root, "data");
const env = {
  ...Deno.env.toObject(),
  SOUNDALIKE_DATA_DIR: dataDir,
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: "warn",
};

/** Per 256-d block the vector generator for the chosen kind. */
async function vectorMaker(): Promise<(out: Float32Array) => void> {
  if (kind === "clustered") return clusteredTrack(tracks, 5);
  const seedsPath = new URL("../.cache/scale/seeds.f32", import.meta.url).pathname;
  if (!(await exists(seedsPath))) {
    throw new Error(
      `${seedsPath} is missing: run \`deno run -A bench/_scale_seeds.ts\` or pass --vectors clustered`,
    );
  }
  const bytes = await Deno.readFile(seedsPath);
  return realisticTrack(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), 5);
}

/** Creates the database, the files, the tracks and the cached vectors, unless a previous run did. */
async function prepare(): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  const admin = postgres({ ...pgOptions(url), database: "postgres", onnotice: () => {} });
  try {
    const found = await admin`select 1 from pg_database where datname = ${name}`;
    if (found.length === 0) await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
  const logger = createConsoleLogger("warn");
  const app = createApp(parseConfig(env), logger);
  try {
    const db = await app.db();
    const hash = modelsHash(await app.manifest());
    const [row] = await db.orm.select({ n: count() }).from(embeddings).where(eq(embeddings.modelsHash, hash));
    const n = row?.n ?? 0;
    if (n >= tracks) return;
    console.log(`preparing ${tracks} files, tracks and cached ${kind} vectors under ${root} (once)...`);
    const started = performance.now();
    const make = await vectorMaker();
    const per = 1000;
    for (let from = 0; from < tracks; from += per) {
      const count = Math.min(per, tracks - from);
      const dir = join(audioDir, String(Math.floor(from / 10_000)).padStart(2, "0"));
      await Deno.mkdir(dir, { recursive: true });
      const batch: CatalogTrack[] = [];
      const entries = [];
      for (let i = from; i < from + count; i++) {
        const rel = `${dir.slice(audioDir.length + 1)}/${String(i).padStart(6, "0")}.mp3`;
        await Deno.writeTextFile(join(audioDir, rel), `soundalike reindex bench track ${i}\n`);
        batch.push(benchTrack(i, rel, false));
        const vector = new Float32Array(DIM);
        make(vector);
        entries.push({ contentHash: await sha256File(join(audioDir, rel)), vector, labels: [] });
      }
      await upsertTracks(db, audioDir, batch);
      await putCachedEmbeddings(db, hash, entries);
      if ((from / per) % 10 === 0) console.log(`  ${from + count}/${tracks}`);
    }
    console.log(`prepared in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  } finally {
    await app.close();
  }
}

function pgOptions(url: URL) {
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    username: decodeURIComponent(url.username || "postgres"),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** The kernel's peak and current resident memory of this process, in MB. */
function residentMb(): { peak: number; now: number } {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { peak: kb("VmHWM") / 1024, now: kb("VmRSS") / 1024 };
}

/** In a fresh process: the reindex, with each stage's time and the peak memory. */
async function measure(): Promise<void> {
  const logger = createConsoleLogger("warn");
  const app = createApp(parseConfig(env), logger);
  const stages: { label: string; total: number; seconds: number; etaAtHalf?: number; peakMb?: number }[] = [];
  let current: (typeof stages)[number] | undefined;
  let stageStart = 0;
  const progress: ProgressReporter = {
    start(total, label) {
      current = { label, total, seconds: 0 };
      stages.push(current);
      stageStart = performance.now();
    },
    update(done) {
      // The ETA a reporter would show half way, kept to compare with the time it really took.
      if (current && current.etaAtHalf === undefined && done >= current.total / 2 && current.total > 1) {
        const elapsed = (performance.now() - stageStart) / 1000;
        current.etaAtHalf = (elapsed * (current.total - done)) / done;
      }
    },
    stop() {
      if (current) {
        current.seconds = (performance.now() - stageStart) / 1000;
        // The kernel's high-water mark when the stage ends: the stage where it jumps holds the peak.
        current.peakMb = residentMb().peak;
      }
    },
  };
  try {
    const before = residentMb();
    const started = performance.now();
    const report = await app.reindex({ progress });
    const seconds = (performance.now() - started) / 1000;
    const after = residentMb();
    console.log(
      `\nreindex of ${report.tracks} tracks from cached embeddings (${kind} vectors), load average ${loadAverage()}`,
    );
    console.log(
      `  indexed ${report.indexed}, cached ${report.cached}, embedded ${report.embedded}, skipped ${report.skipped.length}, duplicates ${report.duplicates.length}`,
    );
    for (const s of stages) {
      const eta = s.etaAtHalf === undefined
        ? ""
        : `  (ETA shown half way: ${s.etaAtHalf.toFixed(1)} s for the second half)`;
      console.log(
        `  ${s.label.padEnd(28)} ${s.seconds.toFixed(1).padStart(7)} s  ${
          String(s.total).padStart(7)
        } items  peak so far ${(s.peakMb ?? NaN).toFixed(0)} MB${eta}`,
      );
    }
    const vectorsMb = (report.indexed * DIM * 4) / 1024 / 1024;
    console.log(
      `  total                        ${seconds.toFixed(1).padStart(7)} s = ${(seconds / 60).toFixed(1)} min`,
    );
    console.log(
      `  peak resident memory ${after.peak.toFixed(0)} MB (before the reindex ${before.now.toFixed(0)} MB)` +
        ` beside the catalog's vectors: ${vectorsMb.toFixed(0)} MB   target: bounded whatever the size`,
    );
    const meta = JSON.parse(
      await Deno.readTextFile(join(dataDir, "indexes", `v${report.version}`, "meta.json")),
    );
    console.log(`  window index: ${meta.windowIndex?.detail}; clip IVF: ${meta.clipIvf ?? "IVF-Flat"}`);
  } finally {
    await app.close();
  }
}

if (arg("measure") !== undefined) {
  await measure();
} else {
  await prepare();
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ...Deno.args, "--measure", "1"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!child.success) Deno.exit(1);
}
