/**
 * The CLI contract end to end, with the shipped models: render a small demo catalog with the corpus
 * generator, `deno task reindex` it, then `deno task similar` on MP3, OGG, WAV and FLAC clips and on
 * bad input. Runs in a temporary data directory with the embedded PGlite database.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ffmpeg, writeSilence, writeTone } from "./audio_fixtures.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DEMO_TRACKS = 10;
const MODELS_ENV: Record<string, string> = Deno.env.get("SOUNDALIKE_TEST_MODELS_DIR")
  ? { SOUNDALIKE_MODELS_DIR: Deno.env.get("SOUNDALIKE_TEST_MODELS_DIR")! }
  : {};

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(dataDir: string, args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    env: { ...MODELS_ENV, SOUNDALIKE_DATA_DIR: dataDir, NO_COLOR: "1", DATABASE_URL: "", LOG_LEVEL: "" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

interface JsonResult {
  rank: number;
  trackId: number;
  sourceId: string;
  title: string;
  artist: string | null;
  genre: string | null;
  similarity: number;
  distance: number;
  isDemo: boolean;
}

Deno.test({
  name: "CLI: corpus -> reindex -> similar answers five demo tracks for MP3, OGG, WAV and FLAC clips",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "soundalike_cli_" });
    const dataDir = join(dir, "data");
    const catalog = join(dir, "corpus");
    try {
      const corpus = await cli(dataDir, [
        "training/cli/corpus.ts",
        ...["--only", "demo", "--demo-tracks", String(DEMO_TRACKS), "--out", catalog],
      ]);
      assert.equal(corpus.code, 0, corpus.stderr);

      const reindex = await cli(dataDir, [
        "core/cli/reindex.ts",
        join(catalog, "fma_demo"),
        "--fma",
        "--demo",
      ]);
      assert.equal(reindex.code, 0, reindex.stderr);
      assert.match(reindex.stderr, new RegExp(`Index v1: ${DEMO_TRACKS} tracks \\(${DEMO_TRACKS} embedded`));

      const source = join(catalog, "fma_demo", "fma_small", "900", "900003.mp3");

      await t.step("the catalog's own file is recognised and left out", async () => {
        const res = await cli(dataDir, ["core/cli/similar.ts", source, "--json"]);
        assert.equal(res.code, 0, res.stderr);
        const recs = JSON.parse(res.stdout) as JsonResult[];
        assert.equal(recs.length, 5);
        assert.ok(!recs.some((r) => r.sourceId === "900003"), "the query's own track is excluded");
      });

      for (const ext of ["mp3", "ogg", "wav", "flac"]) {
        await t.step(`a ${ext.toUpperCase()} copy of a catalog track finds that track first`, async () => {
          // Re-encoding changes the bytes (so it is not excluded as the same file) but not the music.
          const clip = join(dir, `query.${ext}`);
          await ffmpeg(["-i", source, "-ss", "1", "-t", "25", "-ar", "32000", clip]);
          const res = await cli(dataDir, ["core/cli/similar.ts", clip, "--json", "--index", "flat"]);
          assert.equal(res.code, 0, res.stderr);
          const recs = JSON.parse(res.stdout) as JsonResult[];
          assert.equal(recs.length, 5);
          for (const r of recs) {
            for (const key of ["trackId", "title", "artist", "genre", "similarity", "distance"]) {
              assert.ok(key in r, `result has ${key}`);
            }
            assert.ok(r.isDemo);
            assert.ok(r.similarity >= 0 && r.similarity <= 100);
          }
          assert.deepEqual(recs.map((r) => r.rank), [1, 2, 3, 4, 5]);
          const distances = recs.map((r) => r.distance);
          assert.deepEqual(distances, [...distances].sort((a, b) => a - b));
          assert.equal(recs[0]!.sourceId, "900003");
          assert.ok(recs[0]!.similarity > recs[4]!.similarity);
        });
      }

      await t.step("the IVF index answers too", async () => {
        const res = await cli(dataDir, [
          "core/cli/similar.ts",
          source,
          "--json",
          "--index",
          "ivf",
          "--k",
          "3",
        ]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal((JSON.parse(res.stdout) as JsonResult[]).length, 3);
      });

      await t.step("--timings names the search method and index that answered", async () => {
        for (
          const [args, said] of [
            [[], /\(segment search, flat index\)/],
            [["--method", "clip", "--index", "ivf"], /\(whole-clip search, (ivf|flat) index\)/],
          ] as const
        ) {
          const res = await cli(dataDir, ["core/cli/similar.ts", source, "--timings", ...args]);
          assert.equal(res.code, 0, res.stderr);
          assert.match(res.stderr, /^decode [\d.]+ ms, embed [\d.]+ ms, search [\d.]+ ms/m);
          assert.match(res.stderr, said);
        }
      });

      await t.step("bad input gets one clear sentence and a non-zero exit code", async () => {
        const text = join(dir, "notes.mp3");
        await Deno.writeTextFile(text, "this is not music\n".repeat(100));
        const short = await writeTone(join(dir, "short.wav"), { seconds: 1.5 });
        const silent = await writeSilence(join(dir, "silent.wav"), { seconds: 12 });
        const cases: [string[], number, RegExp][] = [
          [[join(dir, "missing.mp3")], 1, /no file|not found|does not exist/i],
          [[text], 1, /audio/i],
          [[short], 1, /short|at least/i],
          [[silent], 1, /silen/i],
          [[source, "--k", "0"], 2, /--k/],
          [[], 2, /exactly one audio file/],
        ];
        for (const [args, code, message] of cases) {
          const res = await cli(dataDir, ["core/cli/similar.ts", ...args, "--json"]);
          assert.equal(res.code, code, `${args.join(" ")}: ${res.stderr}`);
          assert.match(res.stderr, message);
          assert.equal(res.stdout, "", "nothing on standard output");
          if (code === 1) {
            assert.equal(res.stderr.trim().split("\n").length, 1, `one sentence: ${res.stderr}`);
          }
        }
      });

      await t.step(
        "a bad clip writes nothing: no database or index appears in a fresh data dir",
        async () => {
          const fresh = join(dir, "fresh-data");
          const res = await cli(fresh, ["core/cli/similar.ts", join(dir, "notes.mp3")]);
          assert.equal(res.code, 1);
          await assert.rejects(Deno.stat(fresh), Deno.errors.NotFound);
        },
      );

      await t.step("a second reindex reuses every cached embedding", async () => {
        const again = await cli(dataDir, ["core/cli/reindex.ts"]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(
          again.stderr,
          new RegExp(`Index v2: ${DEMO_TRACKS} tracks \\(0 embedded, ${DEMO_TRACKS} from cache`),
        );
        const stats = await cli(dataDir, ["core/cli/stats.ts", "--json"]);
        assert.equal(stats.code, 0, stats.stderr);
        const s = JSON.parse(stats.stdout);
        assert.equal(s.demoTracks, DEMO_TRACKS);
        assert.equal(s.indexVersion, 2);
        assert.equal(s.indexedTracks, DEMO_TRACKS);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
