/**
 * `deno task reindex <folder>` on 1,000 files, 10 % of them bad in every way a real library is
 * (corrupt, header-only, empty, silent, too short, not audio under an audio extension, broken
 * links, unreadable, copies, a path too long for the database), plus control characters in tags
 * and a metadata CSV with NUL in it: every good file is stored, every bad one is reported with its
 * reason, the counts add up and `deno task stats` agrees with the index, on PGlite and PostgreSQL.
 *
 * The good files are 3.5 s two-tone WAVs (8 kHz) written in TypeScript, distinct per file, so the
 * whole folder is generated in well under a second without starting ffmpeg.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { mulberry32 } from "../core/util/random.ts";
import { wavBytes } from "./audio_fixtures.ts";
import { withTestDatabaseUrls } from "./db_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MODELS_ENV: Record<string, string> = Deno.env.get("SOUNDALIKE_TEST_MODELS_DIR")
  ? { SOUNDALIKE_MODELS_DIR: Deno.env.get("SOUNDALIKE_TEST_MODELS_DIR")! }
  : {};
const RATE = 8000;
const GOOD = 900;

/** The reason expected for each bad file, as a pattern. */
type Expected = Map<string, RegExp>;

interface Catalog {
  root: string;
  /** Bad files left out, by path, with the reason expected. */
  skipped: Expected;
  /** Copies: path -> the path of the file they copy. */
  duplicates: Map<string, string>;
  /** Good files whose tags hold control characters. */
  controlTagged: string[];
}

/** One period of a sine, read with linear steps: 75 million `Math.sin` calls would take seconds. */
const SINE = Float32Array.from({ length: 4096 }, (_, i) => Math.sin((2 * Math.PI * i) / 4096));

/** A distinct two-tone clip: two frequencies and an amplitude wobble that depend on `i`. */
function goodSamples(i: number, seconds = 3.5): Float32Array {
  const f1 = 110 + 2.9 * i;
  const f2 = f1 * (1.25 + (i % 5) * 0.05);
  const wobble = 0.5 + (i % 7);
  const out = new Float32Array(Math.round(seconds * RATE));
  const step = (f: number) => (f * SINE.length) / RATE;
  for (let n = 0, p1 = 0, p2 = 0, pw = 0; n < out.length; n++) {
    const amp = 0.25 + 0.1 * SINE[Math.floor(pw) & 4095]!;
    out[n] = amp * (SINE[Math.floor(p1) & 4095]! + SINE[Math.floor(p2) & 4095]!);
    p1 += step(f1);
    p2 += step(f2);
    pw += step(wobble);
  }
  return out;
}

const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"),
  (c) => c.charCodeAt(0),
);

async function writeCatalog(root: string, unreadable: boolean): Promise<Catalog> {
  const rand = mulberry32(1000);
  const skipped: Expected = new Map();
  const duplicates = new Map<string, string>();
  const controlTagged: string[] = [];
  const write = async (path: string, bytes: Uint8Array) => {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeFile(join(root, path), bytes);
  };
  const good: string[] = [];
  const csv = ["path,title,artist,album,album_artist,genre,year,track,license,url"];
  for (let i = 0; i < GOOD; i++) {
    const path = `artist${String(i % 30).padStart(2, "0")}/track${String(i).padStart(4, "0")}.wav`;
    const info: Record<string, string> = {
      INAM: `Track ${i}`,
      IART: `Artist ${i % 30}`,
      IGNR: `Genre ${i % 8}`,
    };
    if (i % 90 === 5) {
      info["INAM"] = `Track\u0001 ${i}\u001b[1m\u007f`;
      controlTagged.push(path);
    }
    if (i % 45 === 7) {
      csv.push(
        `${path},CSV ${i},CSV Artist,Al\u0000bum ${i % 3},VA,Jazz;Blues,2001,${
          i % 12 + 1
        },CC BY 4.0,https://example.org/${i}`,
      );
    }
    await write(path, wavBytes(goodSamples(i), { sampleRate: RATE, info }));
    good.push(path);
  }
  await Deno.writeTextFile(join(root, "metadata.csv"), csv.join("\n") + "\n");
  const bad = async (path: string, bytes: Uint8Array, reason: RegExp) => {
    await write(path, bytes);
    skipped.set(path, reason);
  };
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const notAudio = /could not be read as audio: it is not an audio file or it is corrupt$/;
  for (let i = 0; i < 15; i++) {
    const ext = ["mp3", "ogg", "flac"][i % 3];
    await bad(`bad/corrupt${i}.${ext}`, randomBytes(3000 + 100 * i), notAudio);
  }
  for (let i = 0; i < 5; i++) {
    // A WAV header whose data never came: it opens, and decodes to nothing.
    await bad(`bad/header-only${i}.wav`, wavBytes(goodSamples(i)).subarray(0, 44), /decodes to no samples$/);
  }
  for (let i = 0; i < 15; i++) {
    await bad(`bad/empty${i}.mp3`, new Uint8Array(0), /is empty: it holds no audio$/);
  }
  for (let i = 0; i < 15; i++) {
    await bad(`bad/silent${i}.wav`, wavBytes(new Float32Array(3.5 * RATE), { sampleRate: RATE }), /^silent/);
  }
  for (let i = 0; i < 15; i++) {
    await bad(
      `bad/short${i}.wav`,
      wavBytes(goodSamples(i, 1), { sampleRate: RATE }),
      /^too short: 1\.0 s of audio/,
    );
  }
  for (let i = 0; i < 5; i++) {
    await bad(`bad/notes${i}.mp3`, new TextEncoder().encode("not music\n".repeat(100 + i)), notAudio);
    await bad(`bad/cover${i}.mp3`, PNG, /has no audio track$/);
  }
  for (let i = 0; i < 10; i++) {
    await Deno.symlink(join(root, `gone/track${i}.mp3`), join(root, `links/dead${i}.mp3`)).catch(async () => {
      await Deno.mkdir(join(root, "links"), { recursive: true });
      await Deno.symlink(join(root, `gone/track${i}.mp3`), join(root, `links/dead${i}.mp3`));
    });
    skipped.set(`links/dead${i}.mp3`, /broken symbolic link/);
  }
  for (let i = 0; i < 5; i++) {
    const path = `bad/locked${i}.wav`;
    await write(path, wavBytes(goodSamples(GOOD + i), { sampleRate: RATE }));
    await Deno.chmod(join(root, path), 0o000);
    if (unreadable) skipped.set(path, /permission denied/);
  }
  for (let i = 0; i < 9; i++) {
    const of = good[i * 97]!;
    const path = `copies/copy${i}.wav`;
    await Deno.mkdir(join(root, "copies"), { recursive: true });
    await Deno.copyFile(join(root, of), join(root, path));
    duplicates.set(path, of);
  }
  // A path longer than PostgreSQL's index entries allow (random, so it does not compress).
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  const segment = () => Array.from({ length: 240 }, () => chars[Math.floor(rand() * chars.length)]).join("");
  const longPath = `${Array.from({ length: 12 }, segment).join("/")}/deep.wav`;
  await bad(
    longPath,
    wavBytes(goodSamples(GOOD + 10), { sampleRate: RATE }),
    /database refused it .*too long/,
  );
  return { root, skipped, duplicates, controlTagged };
}

/** How to run a command without root's right to read any file, when this is root; `[]` otherwise. */
async function withoutReadOverride(): Promise<string[] | undefined> {
  if (Deno.uid() !== 0) return [];
  const prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"];
  const probe = await Deno.makeTempFile();
  try {
    await Deno.chmod(probe, 0o000);
    const out = await new Deno.Command(prefix[0]!, {
      args: [...prefix.slice(1), "cat", probe],
      stderr: "null",
    })
      .output().catch(() => undefined);
    return out !== undefined && !out.success ? prefix : undefined;
  } finally {
    await Deno.remove(probe);
  }
}

async function cli(prefix: string[], env: Record<string, string>, args: string[]) {
  const command = [...prefix, Deno.execPath(), "run", "-A", ...args];
  const out = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    cwd: ROOT,
    env: { ...MODELS_ENV, ...env, NO_COLOR: "1", LOG_LEVEL: "" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const prefix = await withoutReadOverride();
if (prefix === undefined) {
  console.log(
    "reindex_1000_test: running as root without setpriv, so the unreadable files can be read: they count as good",
  );
}

withTestDatabaseUrls("deno task reindex on 1,000 files, 10 % bad", async ({ t, databaseUrl }) => {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_1000_" });
  const env = { SOUNDALIKE_DATA_DIR: join(dir, "data"), DATABASE_URL: databaseUrl ?? "" };
  try {
    const catalog = await writeCatalog(join(dir, "catalog"), prefix !== undefined);
    const run = await cli(prefix ?? [], env, ["core/cli/reindex.ts", catalog.root, "--json"]);
    const expectedStored = 1000 - catalog.skipped.size - catalog.duplicates.size;

    await t.step(
      "the run finishes, exit code 3 says files were skipped, standard error holds no dump",
      () => {
        assert.equal(run.code, 3, run.stderr);
        assert.doesNotMatch(run.stderr, /Failed query|WARNING clustering|insert into/);
      },
    );
    const summary = JSON.parse(run.stdout);

    await t.step("every good file is stored and every bad one reported with its reason", () => {
      assert.equal(summary.stored, expectedStored);
      assert.equal(summary.found, 1000);
      assert.equal(summary.found, summary.stored + summary.skipped.length + summary.duplicates.length);
      const got = new Map<string, string>(
        summary.skipped.map((s: { item: string; reason: string }) => [s.item, s.reason]),
      );
      assert.deepEqual([...got.keys()].sort(), [...catalog.skipped.keys()].sort());
      for (const [item, pattern] of catalog.skipped) assert.match(got.get(item)!, pattern, item);
      assert.deepEqual(
        summary.duplicates.map((d: { item: string; keptItem: string }) => [d.item, d.keptItem]),
        [...catalog.duplicates].sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      assert.equal(summary.ivf, true, "900 tracks are enough for an IVF index");
    });

    await t.step("control characters in tags and NUL in the CSV are cleaned, not fatal", () => {
      const cleaned = summary.cleaned.map((c: { item: string; reason: string }) => `${c.item}: ${c.reason}`);
      for (const path of catalog.controlTagged) {
        assert.ok(cleaned.includes(`${path}: title: control characters removed`), path);
      }
      assert.ok(cleaned.some((c: string) => /album: control characters removed$/.test(c)));
    });

    await t.step("deno task stats agrees with the index", async () => {
      const stats = await cli([], env, ["core/cli/stats.ts", "--json"]);
      assert.equal(stats.code, 0, stats.stderr);
      const s = JSON.parse(stats.stdout);
      assert.equal(s.tracks, expectedStored);
      assert.equal(s.indexedTracks, expectedStored);
      assert.equal(s.duplicateTracks, catalog.duplicates.size);
    });

    await t.step("the IVF index answers", async () => {
      const res = await cli([], env, [
        "core/cli/similar.ts",
        join(catalog.root, "artist03/track0003.wav"),
        "--json",
        "--index",
        "ivf",
      ]);
      assert.equal(res.code, 0, res.stderr);
      const recs = JSON.parse(res.stdout) as { sourceId: string }[];
      assert.equal(recs.length, 5);
      assert.ok(
        !recs.some((r) => r.sourceId === "artist03/track0003.wav"),
        "the clip's own track is left out",
      );
    });
  } finally {
    await new Deno.Command("chmod", { args: ["-R", "u+rwX", dir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
}, { sanitizeOps: false, sanitizeResources: false });
