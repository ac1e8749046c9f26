/**
 * `deno task corpus`: renders the synthetic training corpus and the FMA-shaped demo catalog.
 * @module
 */
import { parseArgs } from "node:util";
import { createTerminalProgress, isSoundalikeError } from "../../core/mod.ts";
import { createConsoleLogger } from "../../core/mod.ts";
import {
  buildCorpus,
  CORPUS_PARTS,
  type CorpusOptions,
  type CorpusPart,
  type CorpusProgress,
  DEFAULT_CORPUS_OPTIONS,
  defaultCorpusDeps,
} from "../corpus/corpus.ts";

const HELP = `Render the synthetic corpus (procedurally composed MIDI rendered with fluidsynth).

Usage: deno task corpus [options]

Options:
  --out <dir>                 output folder (default .cache/corpus)
  --seed <n>                  corpus seed; same seed, same corpus (default ${DEFAULT_CORPUS_OPTIONS.seed})
  --per-class-genre <n>       clips per genre, 10 genres, ${DEFAULT_CORPUS_OPTIONS.seconds.genre} s (default ${DEFAULT_CORPUS_OPTIONS.perClass.genre})
  --per-class-emotion <n>     clips per mood cluster, 5 clusters, ${DEFAULT_CORPUS_OPTIONS.seconds.emotion} s (default ${DEFAULT_CORPUS_OPTIONS.perClass.emotion})
  --per-class-instrument <n>  clips per instrument, 4 instruments, ${DEFAULT_CORPUS_OPTIONS.seconds.instrument} s (default ${DEFAULT_CORPUS_OPTIONS.perClass.instrument})
  --demo-tracks <n>           FMA-shaped demo tracks, 30 s MP3 (default ${DEFAULT_CORPUS_OPTIONS.demoTracks})
  --genre-seconds <s>         genre clip length (default ${DEFAULT_CORPUS_OPTIONS.seconds.genre})
  --emotion-seconds <s>       emotion clip length (default ${DEFAULT_CORPUS_OPTIONS.seconds.emotion})
  --instrument-seconds <s>    instrument clip length (default ${DEFAULT_CORPUS_OPTIONS.seconds.instrument})
  --jobs <n>                  parallel renders (default: number of CPUs)
  --only <parts>              comma-separated subset of ${CORPUS_PARTS.join(",")}
  --soundfont <file>          General-MIDI .sf2 (default /usr/share/sounds/sf2/FluidR3_GM.sf2)
  -h, --help                  show this help

Layout: <out>/{genre,emotion,instrument}/<class>/<class>.NNNNN.wav (16-bit mono ${DEFAULT_CORPUS_OPTIONS.sampleRate} Hz),
<out>/fma_demo/fma_small/NNN/NNNNNN.mp3 with fma_metadata/tracks.csv and genres.csv,
<out>/labels.csv and <out>/corpus.json. Reruns keep clips already rendered with the same settings.`;

function fail(msg: string): never {
  console.error(msg);
  Deno.exit(2);
}

function int(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}: got ${value}`);
  return n;
}

function num(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 3) fail(`--${name} must be a number of seconds >= 3: got ${value}`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        seed: { type: "string" },
        "per-class-genre": { type: "string" },
        "per-class-emotion": { type: "string" },
        "per-class-instrument": { type: "string" },
        "demo-tracks": { type: "string" },
        "genre-seconds": { type: "string" },
        "emotion-seconds": { type: "string" },
        "instrument-seconds": { type: "string" },
        jobs: { type: "string" },
        only: { type: "string" },
        soundfont: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return;
  }
  const d = DEFAULT_CORPUS_OPTIONS;
  let only: readonly CorpusPart[] = d.only;
  if (v.only !== undefined) {
    const parts = v.only.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const bad = parts.filter((p) => !(CORPUS_PARTS as readonly string[]).includes(p));
    if (bad.length > 0 || parts.length === 0) {
      fail(`--only takes a comma-separated subset of ${CORPUS_PARTS.join(",")}: got ${v.only}`);
    }
    only = parts as CorpusPart[];
  }
  const opts: CorpusOptions = {
    out: v.out ?? ".cache/corpus",
    seed: int("seed", v.seed, d.seed),
    perClass: {
      genre: int("per-class-genre", v["per-class-genre"], d.perClass.genre),
      emotion: int("per-class-emotion", v["per-class-emotion"], d.perClass.emotion),
      instrument: int("per-class-instrument", v["per-class-instrument"], d.perClass.instrument),
    },
    demoTracks: int("demo-tracks", v["demo-tracks"], d.demoTracks),
    seconds: {
      genre: num("genre-seconds", v["genre-seconds"], d.seconds.genre),
      emotion: num("emotion-seconds", v["emotion-seconds"], d.seconds.emotion),
      instrument: num("instrument-seconds", v["instrument-seconds"], d.seconds.instrument),
      demo: d.seconds.demo,
    },
    sampleRate: d.sampleRate,
    jobs: int("jobs", v.jobs, navigator.hardwareConcurrency || 2, 1),
    only,
  };
  if (v.soundfont !== undefined) opts.soundfont = v.soundfont;

  const logger = createConsoleLogger("info");
  // One bar for the whole corpus, started by the first clip (when the total is known). Clips
  // already rendered by an earlier run count as done at once and are shown as "cached".
  const bar = createTerminalProgress({ unit: "clips", labelWidth: 6 });
  let barStarted = false;
  const onProgress = (p: CorpusProgress) => {
    if (!barStarted) {
      bar.start(p.total, "corpus");
      barStarted = true;
    }
    bar.update(p.done, { cached: p.cached });
  };
  // Ctrl-C: finish the clips in flight and save the cache manifest, so a rerun resumes.
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const deps = defaultCorpusDeps(logger, onProgress);
    deps.signal = stop.signal;
    const summary = await buildCorpus(opts, deps);
    bar.stop();
    if (!summary.complete) {
      console.error(
        `Interrupted: ${summary.rendered} clips rendered this run; rerun the same command to finish`,
      );
      Deno.exit(130);
    }
    const totals = Object.entries(summary.counts)
      .filter(([, c]) => Object.keys(c).length > 0)
      .map(([part, c]) => `${part} ${Object.values(c).reduce((a, b) => a + b, 0)}`)
      .join(", ");
    console.log(
      `Corpus in ${summary.out}: ${totals}; rendered ${summary.rendered}, cached ${summary.cached}, ${
        summary.seconds.toFixed(1)
      } s`,
    );
  } catch (err) {
    bar.stop();
    if (isSoundalikeError(err)) fail(err.message);
    throw err;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

if (import.meta.main) await main();
