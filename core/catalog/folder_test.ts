import assert from "node:assert/strict";
import { withTestDatabases } from "../../tests/db_helpers.ts";
import { getTrackCards, upsertTracks } from "../db/repository.ts";
import { isSoundalikeError } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { fromFileName, readFolderCatalog } from "./folder.ts";

/** A catalog folder with the given files (contents irrelevant: nothing is decoded). */
async function folderWith(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "soundalike_folder_" });
  for (const [path, content] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, content);
  }
  return root;
}

Deno.test("fromFileName() takes 'Artist - Title' apart and falls back to the name", () => {
  assert.deepEqual(fromFileName("rock/Kevin MacLeod - Sneaky Snitch.ogg"), {
    artist: "Kevin MacLeod",
    title: "Sneaky Snitch",
  });
  assert.deepEqual(fromFileName("a/b/my_song.flac"), { artist: null, title: "my song" });
  assert.deepEqual(fromFileName("x-y.wav"), { artist: null, title: "x-y" });
});

Deno.test("readFolderCatalog() finds audio recursively and uses the metadata CSV where it has a row", async () => {
  const root = await folderWith({
    "b/Nina - Blue.mp3": "",
    "a/one.OGG": "",
    "a/deep/two.flac": "",
    "c/three.wav": "",
    "c/four.m4a": "",
    "c/five.opus": "",
    "c/six.aac": "",
    "notes.txt": "",
    "cover.jpg": "",
    ".hidden/x.mp3": "",
    "metadata.csv": "Path,Title,Artist,Album,Genre,License,URL\n" +
      "a/one.OGG,First,Ann,LP,Rock,CC BY 4.0,https://example.org/1\n" +
      './a\\deep\\two.flac,"Two, too",Ann,LP,rock,,\n' +
      "gone.mp3,Gone,,,,,\n" +
      "notes.txt,Notes,,,,,\n" +
      "../escape.mp3,No,,,,,\n",
  });
  try {
    const res = await readFolderCatalog({ root, logger: silentLogger });
    assert.deepEqual(res.tracks.map((t) => t.audioPath), [
      "a/deep/two.flac",
      "a/one.OGG",
      "b/Nina - Blue.mp3",
      "c/five.opus",
      "c/four.m4a",
      "c/six.aac",
      "c/three.wav",
    ]);
    const [two, one, blue, five] = res.tracks;
    assert.deepEqual(one, {
      source: "folder",
      sourceId: "a/one.OGG",
      title: "First",
      artist: { sourceId: "ann", name: "Ann", url: null },
      album: { sourceId: "ann\u0000lp", title: "LP", url: null },
      topGenre: "Rock",
      genreIds: [],
      durationSeconds: null,
      license: "CC BY 4.0",
      bitRate: null,
      dateCreated: null,
      url: "https://example.org/1",
      audioPath: "a/one.OGG",
      isDemo: false,
    });
    assert.equal(two?.title, "Two, too");
    assert.equal(two?.album?.sourceId, one?.album?.sourceId);
    assert.equal(two?.license, null);
    assert.deepEqual([blue?.artist?.name, blue?.title, blue?.topGenre], ["Nina", "Blue", null]);
    assert.deepEqual([five?.artist, five?.title], [null, "five"]);
    assert.deepEqual(res.skipped, [
      { item: "metadata CSV row 5", reason: 'bad path "../escape.mp3"' },
      { item: "gone.mp3", reason: "listed in the metadata CSV but not found" },
      { item: "notes.txt", reason: "not an audio file" },
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readFolderCatalog() works without a CSV and fails clearly on a bad folder or CSV", async () => {
  const root = await folderWith({ "x.mp3": "", "other.csv": "title\nno path column\n" });
  try {
    const res = await readFolderCatalog({ root, source: "demo", logger: silentLogger });
    assert.deepEqual(res.tracks.map((t) => [t.title, t.isDemo, t.source]), [["x", true, "demo"]]);
    await assert.rejects(
      readFolderCatalog({ root, metadataCsv: `${root}/other.csv`, logger: silentLogger }),
      (e) => isSoundalikeError(e, "bad_dataset") && /no path column/.test(e.message),
    );
    await assert.rejects(
      readFolderCatalog({ root, metadataCsv: `${root}/missing.csv`, logger: silentLogger }),
      (e) => isSoundalikeError(e, "bad_dataset"),
    );
    await assert.rejects(
      readFolderCatalog({ root: `${root}/nope`, logger: silentLogger }),
      (e) => isSoundalikeError(e, "bad_dataset") && /Cannot read the catalog folder/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

withTestDatabases("folder catalog ingest", async ({ db, t }) => {
  const root = await folderWith({
    "Ann - One.mp3": "",
    "two.wav": "",
    "metadata.csv": "path,title,artist,album,genre,license,url\ntwo.wav,Two,Ann,,Jazz,,\n",
  });
  try {
    await t.step("stores folder tracks with artists shared by name and created genres", async () => {
      const res = await readFolderCatalog({ root, logger: silentLogger });
      const ids = await upsertTracks(db, root, res.tracks);
      const cards = await getTrackCards(db, ids);
      assert.deepEqual(cards.map((c) => [c.title, c.artist, c.genre]), [["One", "Ann", null], [
        "Two",
        "Ann",
        "Jazz",
      ]]);
      assert.deepEqual(await upsertTracks(db, root, res.tracks), ids);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
