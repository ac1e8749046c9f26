/**
 * A small, real catalog for integration tests: generated audio files (tones with tremolo and a bed
 * of seeded noise, each file audibly different), a `metadata.csv` with titles, artists and genres,
 * and an {@linkcode App} over a temporary data directory (PGlite unless a database URL is given)
 * that has ingested and indexed it with the shipped models.
 *
 * @module
 */
import { join } from "node:path";
import { type App, createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { type Logger, silentLogger } from "../core/logger.ts";
import { ffmpeg } from "./audio_fixtures.ts";

/** The genres the fixture's tracks cycle through. */
export const FIXTURE_GENRES = ["Rock", "Jazz", "Hip-Hop"] as const;

/** One generated catalog file. */
export interface FixtureTrack {
  /** Relative to the catalog folder. */
  path: string;
  title: string;
  artist: string;
  genre: string;
}

/**
 * Writes `n` distinct audio files (12 s, 16 kHz mono WAV) and their `metadata.csv`.
 *
 * @param dir An empty folder.
 * @param n How many tracks.
 * @returns The tracks, in file order.
 */
export async function writeFixtureCatalog(dir: string, n = 9): Promise<FixtureTrack[]> {
  const tracks: FixtureTrack[] = Array.from({ length: n }, (_, i) => ({
    path: `track_${String(i + 1).padStart(2, "0")}.wav`,
    title: `Fixture Song ${i + 1}`,
    artist: `Fixture Artist ${(i % 4) + 1}`,
    genre: FIXTURE_GENRES[i % FIXTURE_GENRES.length]!,
  }));
  await Promise.all(tracks.map((t, i) => writeFixtureAudio(join(dir, t.path), i)));
  const csv = [
    "path,title,artist,genre,license,url",
    ...tracks.map((t) =>
      `${t.path},${t.title},${t.artist},${t.genre},CC BY 4.0,https://example.org/tracks/${
        encodeURIComponent(t.path)
      }`
    ),
  ];
  await Deno.writeTextFile(join(dir, "metadata.csv"), csv.join("\n") + "\n");
  return tracks;
}

/**
 * Writes the `i`-th fixture sound: a tone whose pitch, tremolo and noise level depend on `i`.
 *
 * @param path Where to write (the extension picks the format).
 * @param i Which sound.
 * @param seconds Its length. @default 12
 */
export async function writeFixtureAudio(path: string, i: number, seconds = 12): Promise<void> {
  const f = 110 * 2 ** ((i * 5) / 12);
  const tremolo = 1 + (i % 5);
  const expr = `0.35*sin(2*PI*${f.toFixed(2)}*t)*(0.6+0.4*sin(2*PI*${tremolo}*t))` +
    `+0.15*sin(2*PI*${(f * 1.5).toFixed(2)}*t)`;
  await ffmpeg([
    ...["-f", "lavfi", "-i", `aevalsrc=${expr}:s=16000:d=${seconds}`],
    ...[
      "-f",
      "lavfi",
      "-i",
      `anoisesrc=color=pink:amplitude=${0.02 + (i % 3) * 0.03}:seed=${i + 1}:r=16000:d=${seconds}`,
    ],
    ...["-filter_complex", "amix=inputs=2:normalize=0", "-ac", "1", path],
  ]);
}

/** A catalog folder, an app that indexed it, and how to clean up. */
export interface TestCatalog {
  app: App;
  catalogDir: string;
  dataDir: string;
  tracks: FixtureTrack[];
  /** Closes the app and removes the folders. */
  close(): Promise<void>;
}

/** Options of {@linkcode openTestCatalog}. */
export interface OpenTestCatalogOptions {
  /** Number of tracks. @default 9 */
  tracks?: number;
  /** More environment variables for the configuration. */
  env?: Record<string, string>;
  logger?: Logger;
}

/**
 * Builds a fixture catalog, opens an app on a fresh data directory and runs ingest + reindex.
 *
 * @param options Size, extra configuration and logger.
 * @returns The indexed {@linkcode TestCatalog}.
 */
export async function openTestCatalog(options: OpenTestCatalogOptions = {}): Promise<TestCatalog> {
  const root = await Deno.makeTempDir({ prefix: "soundalike_catalog_" });
  const catalogDir = join(root, "catalog");
  const dataDir = join(root, "data");
  await Deno.mkdir(catalogDir);
  const tracks = await writeFixtureCatalog(catalogDir, options.tracks ?? 9);
  const config = parseConfig({
    SOUNDALIKE_DATA_DIR: dataDir,
    SOUNDALIKE_MODELS_DIR: join(Deno.cwd(), "models"),
    ORT_PROVIDER: "cpu",
    ORT_THREADS: "1",
    SOUNDALIKE_CATALOG_DIR: catalogDir,
    ...options.env,
  }, { cwd: Deno.cwd() });
  const app = createApp(config, options.logger ?? silentLogger);
  try {
    await app.update(catalogDir);
  } catch (err) {
    await app.close();
    await Deno.remove(root, { recursive: true });
    throw err;
  }
  return {
    app,
    catalogDir,
    dataDir,
    tracks,
    async close() {
      await app.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Starts `deno task bot`'s program as its own process in console mode on a data directory (the
 * credentials of the developer's shell are blanked, so it never switches to a platform).
 *
 * @param dataDir The data directory (close any app on it first: PGlite is one process at a time).
 * @param env More variables.
 * @returns The process, its standard streams piped.
 */
export function spawnConsoleBot(
  dataDir: string,
  env: Record<string, string> = {},
  how: "run" | "task" = "run",
): Deno.ChildProcess {
  // `task`: as the README starts it, through node_modules/.bin/deno (scripts/deno_bin.cjs) and `deno task bot`.
  const [command, args] = how === "run"
    ? [Deno.execPath(), ["run", "-A", "bot/main.ts"]]
    : ["node_modules/.bin/deno", ["task", "bot"]];
  return new Deno.Command(command, {
    args,
    env: {
      SOUNDALIKE_DATA_DIR: dataDir,
      ORT_PROVIDER: "cpu",
      NO_COLOR: "1",
      DISCORD_TOKEN: "",
      SLACK_BOT_TOKEN: "",
      SLACK_SIGNING_SECRET: "",
      SLACK_APP_TOKEN: "",
      DATABASE_URL: "",
      ...env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}
