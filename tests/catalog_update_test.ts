/**
 * `App.update()` on a small folder catalog with the shipped models, on PGlite and PostgreSQL:
 * metadata from the CSV, the tags and the names; identical files and re-tagged copies stored once;
 * every file left out reported with its reason; counts that add up and agree with `stats()`;
 * `similar` never answering the same audio twice; a second run reusing every embedding and
 * deleting what left the folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { isSoundalikeError } from "../core/errors.ts";
import { createMemoryLogger } from "../core/logger.ts";
import { toneSamples, wavBytes } from "./audio_fixtures.ts";
import { withTestDatabaseUrls } from "./db_helpers.ts";

const MODELS_DIR = Deno.env.get("SOUNDALIKE_TEST_MODELS_DIR") ??
  new URL("../models", import.meta.url).pathname;

/** Two tones, so each file sounds unlike the others. */
function chord(f1: number, f2: number, seconds = 4): Float32Array {
  const a = toneSamples(f1, seconds, 16000, 0.3);
  const b = toneSamples(f2, seconds, 16000, 0.3);
  return a.map((x, i) => x + b[i]!);
}

async function writeCatalog(root: string): Promise<void> {
  const write = (path: string, bytes: Uint8Array) => Deno.writeFile(join(root, path), bytes);
  await Deno.mkdir(join(root, "copy"));
  const tagged = wavBytes(chord(330, 495), {
    info: { INAM: "Tagged Title", IART: "Tag Artist", IGNR: "Synthwave", ICRD: "2019", IPRD: "Nights" },
  });
  await write("tagged.wav", tagged);
  await write("copy/tagged.wav", tagged);
  await write("Ann - Fallback.wav", wavBytes(chord(220, 277)));
  await write("csv.wav", wavBytes(chord(262, 392), { info: { INAM: "Tag title", IART: "Tag artist" } }));
  for (let i = 1; i <= 5; i++) await write(`g${i}.wav`, wavBytes(chord(150 + 90 * i, 600 + 55 * i)));
  // The same audio as g1 under other tags: another file, the same music.
  await write("retagged.wav", wavBytes(chord(240, 655), { info: { INAM: "Not g1, says the tag" } }));
  await write("short.wav", wavBytes(toneSamples(440, 1)));
  await write("silent.wav", wavBytes(new Float32Array(4 * 16000)));
  await write("empty.mp3", new Uint8Array(0));
  await Deno.writeTextFile(join(root, "notes.mp3"), "these are notes, not music\n".repeat(40));
  await Deno.symlink(join(root, "moved-away.mp3"), join(root, "link.mp3"));
  await Deno.writeTextFile(
    join(root, "metadata.csv"),
    "path,title,artist,album,genre\ncsv.wav,CSV Title,CSV Artist,CSV Album,Ambient\nmissing.wav,Gone,,,\n",
  );
}

withTestDatabaseUrls("App.update() on a folder catalog", async ({ t, databaseUrl }) => {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_update_" });
  const root = join(dir, "catalog");
  await Deno.mkdir(root);
  await writeCatalog(root);
  const { logger, records } = createMemoryLogger();
  const config = parseConfig({
    SOUNDALIKE_DATA_DIR: join(dir, "data"),
    SOUNDALIKE_MODELS_DIR: MODELS_DIR,
    DATABASE_URL: databaseUrl ?? "",
    LOG_LEVEL: "debug",
  });
  const app = createApp(config, logger);
  try {
    const first = await app.update(root);
    const { summary } = first;

    await t.step("the summary's counts add up, with every file left out and why", () => {
      assert.equal(summary.stored, 8);
      assert.equal(summary.found, summary.stored + summary.skipped.length + summary.duplicates.length);
      assert.deepEqual(summary.skipped, [
        { item: "empty.mp3", reason: "The file empty.mp3 is empty: it holds no audio" },
        { item: "link.mp3", reason: "a broken symbolic link: the file it points to does not exist" },
        { item: "missing.wav", reason: "listed in the metadata CSV but not found" },
        {
          item: "notes.mp3",
          reason: "The file notes.mp3 could not be read as audio: it is not an audio file or it is corrupt",
        },
        { item: "short.wav", reason: "too short: 1.0 s of audio, at least 3 s are needed" },
        { item: "silent.wav", reason: "silent (digital silence): there is no sound to compare" },
      ]);
      assert.deepEqual(summary.duplicates, [
        {
          item: "retagged.wav",
          keptItem: "g1.wav",
          reason: "the same audio as g1.wav (only the tags or the container differ)",
        },
        { item: "tagged.wav", keptItem: "copy/tagged.wav", reason: "the same file as copy/tagged.wav" },
      ]);
      assert.deepEqual([summary.removed, summary.indexVersion, summary.ivf], [0, 1, false]);
      assert.deepEqual([first.reindex.embedded, first.reindex.cached], [8, 0]);
    });

    await t.step("stats() agrees with the index: only stored tracks count", async () => {
      const s = await app.stats();
      assert.equal(s.tracks, 8);
      assert.equal(s.indexedTracks, 8);
      assert.deepEqual([s.skippedTracks, s.duplicateTracks, s.pendingTracks], [2, 2, 0]);
      assert.ok(s.byTopGenre.some((g) => g.genre === "Synthwave" && g.count === 1), "a genre from the tags");
    });

    await t.step(
      "similar() shows each audio once: the clip's own track and its copies are left out",
      async () => {
        const res = await app.similar(join(root, "retagged.wav"), { k: 10 });
        const items = res.recommendations.map((r) => r.sourceId);
        assert.equal(items.length, 7, items.join());
        assert.equal(new Set(items).size, 7);
        for (const left of ["g1.wav", "retagged.wav", "tagged.wav", "short.wav"]) {
          assert.ok(!items.includes(left), left);
        }
        const card = (id: string) => res.recommendations.find((r) => r.sourceId === id);
        assert.deepEqual(
          [card("copy/tagged.wav")?.title, card("copy/tagged.wav")?.artist, card("copy/tagged.wav")?.album],
          ["Tagged Title", "Tag Artist", "Nights"],
          "from the tags",
        );
        assert.deepEqual([card("csv.wav")?.title, card("csv.wav")?.artist, card("csv.wav")?.genre], [
          "CSV Title",
          "CSV Artist",
          "Ambient",
        ], "the CSV wins over the tags");
        assert.deepEqual([card("Ann - Fallback.wav")?.title, card("Ann - Fallback.wav")?.artist], [
          "Fallback",
          "Ann",
        ], "the name, without CSV row or tags");
      },
    );

    await t.step("ivf falls back to the exact index on a small catalog, said once", async () => {
      const flat = await app.similar(join(root, "g2.wav"), { index: "flat", method: "clip" });
      const ivf = await app.similar(join(root, "g2.wav"), { index: "ivf", method: "clip" });
      await app.similar(join(root, "g3.wav"), { index: "ivf", method: "clip" });
      assert.deepEqual(ivf.recommendations.map((r) => r.trackId), flat.recommendations.map((r) => r.trackId));
      assert.equal(records.filter((r) => /too few for an IVF index/.test(r.msg)).length, 1);
      assert.ok(
        !records.some((r) => r.msg === "faiss output"),
        "faiss was never asked to train on too few points",
      );
    });

    await t.step("a second run reuses every embedding and deletes what left the folder", async () => {
      await Deno.remove(join(root, "g5.wav"));
      await Deno.remove(join(root, "silent.wav"));
      const again = await app.update(root);
      assert.deepEqual(
        [again.summary.stored, again.summary.removed, again.reindex.embedded, again.reindex.cached],
        [7, 2, 0, 7],
      );
      assert.equal(again.summary.indexVersion, 2);
      const s = await app.stats();
      assert.deepEqual([s.tracks, s.indexedTracks, s.skippedTracks, s.removedTracks], [7, 7, 1, 0]);
    });

    await t.step(
      "an index that cannot be written is one sentence, and the old index keeps serving",
      async () => {
        // A file where the next version's build folder goes: creating it fails, as a full disk would.
        await Deno.writeTextFile(join(dir, "data", "indexes", "v3.tmp"), "in the way");
        await Deno.remove(join(root, "g4.wav"));
        await assert.rejects(app.update(root), (err) => {
          assert.ok(isSoundalikeError(err, "index_failed"), String(err));
          assert.match(
            err.message,
            /^Could not write the search index to \S+: .+: free disk space or fix the folder's permissions, then run the reindex again; the current index keeps serving$/,
          );
          return true;
        });
        const s = await app.stats();
        assert.deepEqual([s.indexVersion, s.indexedTracks], [2, 7]);
        const res = await app.similar(join(root, "g2.wav"));
        assert.ok(
          res.recommendations.some((r) => r.sourceId === "g4.wav"),
          "served from v2, which still has g4",
        );
      },
    );
  } finally {
    await app.close();
    await Deno.remove(dir, { recursive: true });
  }
});
