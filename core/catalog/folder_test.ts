import assert from "node:assert/strict";
import { ffmpeg, toneSamples, wavBytes } from "../../tests/audio_fixtures.ts";
import { withTestDatabases } from "../../tests/db_helpers.ts";
import { eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { albums, artists, genres, trackGenres, tracks } from "../db/schema.ts";
import { getTrackCards, storeTracks } from "../db/repository.ts";
import { isSoundalikeError } from "../errors.ts";
import { type AudioTags, readTagsMany } from "../audio/ffmpeg.ts";
import { silentLogger } from "../logger.ts";
import { cleanTrack } from "./clean_text.ts";
import { fromFileName, readFolderCatalog, type ReadTags } from "./folder.ts";

/** Runs `fn` on a catalog folder with the given files (contents as text), removed afterwards. */
async function withFolder(files: Record<string, string>, fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "soundalike_folder_" });
  try {
    for (const [path, content] of Object.entries(files)) {
      const full = `${root}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, content);
    }
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
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
  await withFolder({
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
  }, async (root) => {
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
      album: { sourceId: '["ann","lp"]', title: "LP", url: null },
      topGenre: "Rock",
      genreIds: [],
      genres: ["Rock"],
      year: null,
      trackNumber: null,
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
  });
});

Deno.test("readFolderCatalog() works without a CSV and fails clearly on a bad folder or CSV", async () => {
  await withFolder({ "x.mp3": "", "other.csv": "title\nno path column\n" }, async (root) => {
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
  });
});

/** A tag reader answering from a table (by file name), failing for names it lacks. */
function fakeTags(table: Record<string, Partial<AudioTags["tags"]> | Error>): ReadTags {
  return (paths) =>
    Promise.resolve(paths.map((p) => {
      const entry = table[p.split("/").pop()!];
      if (entry === undefined) return new Error(`no tags for ${p}`);
      if (entry instanceof Error) return entry;
      return { tags: entry as Record<string, string>, durationSeconds: 31.5 };
    }));
}

Deno.test("readFolderCatalog() takes each field from the CSV, then the tags, then the file name", async () => {
  await withFolder({
    "Nina - Blue.mp3": "",
    "tagged.flac": "",
    "both.ogg": "",
    "broken.wav": "",
    "metadata.csv": "path,title,artist,album,album_artist,genre,year,track,license,url\n" +
      "both.ogg,CSV Title,,,,Jazz;Blues,1999,4,CC BY 4.0,https://example.org/both\n",
  }, async (root) => {
    const readTags = fakeTags({
      "Nina - Blue.mp3": {},
      "tagged.flac": {
        title: "Food",
        artist: "AWOL",
        album: "A Way Of Life",
        album_artist: "Various",
        genre: "Hip-Hop",
        date: "2008-11-26",
        track: "3/12",
        copyright: "CC BY-NC-SA 3.0",
      },
      "both.ogg": { title: "Tag Title", artist: "Tag Artist", genre: "Rock", date: "2001" },
      "broken.wav": new Error("The file broken.wav could not be read as audio: it is corrupt"),
    });
    const res = await readFolderCatalog({ root, readTags, logger: silentLogger, tagBatchSize: 2 });
    const byPath = new Map(res.tracks.map((t) => [t.audioPath, t]));
    const tagged = byPath.get("tagged.flac")!;
    assert.deepEqual(
      [tagged.title, tagged.artist?.name, tagged.album, tagged.genres, tagged.topGenre, tagged.year],
      [
        "Food",
        "AWOL",
        {
          sourceId: '["various","a way of life"]',
          title: "A Way Of Life",
          url: null,
          artist: { sourceId: "various", name: "Various", url: null },
        },
        ["Hip-Hop"],
        "Hip-Hop",
        2008,
      ],
    );
    assert.deepEqual([tagged.trackNumber, tagged.durationSeconds, tagged.license], [
      3,
      31.5,
      "CC BY-NC-SA 3.0",
    ]);
    const both = byPath.get("both.ogg")!;
    assert.deepEqual(
      [both.title, both.artist?.name, both.genres, both.year, both.trackNumber, both.license, both.url],
      ["CSV Title", "Tag Artist", ["Jazz", "Blues"], 1999, 4, "CC BY 4.0", "https://example.org/both"],
    );
    const blue = byPath.get("Nina - Blue.mp3")!;
    assert.deepEqual([blue.title, blue.artist?.name, blue.genres], ["Blue", "Nina", []]);
    assert.equal(byPath.has("broken.wav"), false);
    assert.deepEqual(res.skipped, [{
      item: "broken.wav",
      reason: "The file broken.wav could not be read as audio: it is corrupt",
    }]);
  });
});

Deno.test("readFolderCatalog() follows symbolic links and reports broken ones, loops and undecodable names", async () => {
  await withFolder({ "real/a.mp3": "", "elsewhere/b.mp3": "" }, async (root) => {
    await Deno.symlink(`${root}/real/a.mp3`, `${root}/linked.mp3`);
    await Deno.symlink(`${root}/gone.mp3`, `${root}/dangling.mp3`);
    await Deno.symlink(`${root}/loop2.mp3`, `${root}/loop1.mp3`);
    await Deno.symlink(`${root}/loop1.mp3`, `${root}/loop2.mp3`);
    await Deno.symlink(`${root}/elsewhere`, `${root}/album`);
    await Deno.symlink(root, `${root}/real/back-to-root`); // a cycle: each folder is listed once
    await Deno.symlink(`${root}/nothing`, `${root}/notes.txt`); // not audio: ignored
    // A name in Latin-1 bytes (not UTF-8), made by the shell: Deno cannot name it back.
    const made = await new Deno.Command("sh", {
      args: ["-c", `printf x > "$1/$(printf 'caf\\351.mp3')"`, "sh", root],
    }).output();
    assert.ok(made.success);
    const res = await readFolderCatalog({ root, logger: silentLogger });
    assert.deepEqual(res.tracks.map((t) => t.audioPath), [
      "album/b.mp3",
      "elsewhere/b.mp3",
      "linked.mp3",
      "real/a.mp3",
    ]);
    assert.deepEqual(res.skipped.sort((a, b) => a.item.localeCompare(b.item)), [
      { item: "caf\uFFFD.mp3", reason: "its name is not valid UTF-8, so it cannot be opened: rename it" },
      { item: "dangling.mp3", reason: "a broken symbolic link: the file it points to does not exist" },
      { item: "loop1.mp3", reason: "a symbolic link that points to itself (a loop)" },
      { item: "loop2.mp3", reason: "a symbolic link that points to itself (a loop)" },
    ]);
  });
});

Deno.test("readFolderCatalog() reads a metadata CSV saved in Windows-1252", async () => {
  await withFolder({ "a.mp3": "" }, async (root) => {
    const csv = new TextEncoder().encode("path,title,artist\na.mp3,Caf?,Bj?rk\n");
    csv[csv.indexOf(0x3f)] = 0xe9; // é
    csv[csv.lastIndexOf(0x3f)] = 0xf6; // ö
    await Deno.writeFile(`${root}/metadata.csv`, csv);
    const res = await readFolderCatalog({ root, logger: silentLogger });
    assert.deepEqual([res.tracks[0]?.title, res.tracks[0]?.artist?.name], ["Café", "Björk"]);
  });
});

withTestDatabases(
  "folder catalog with every CSV column filled, tags and control characters",
  async ({ db, t }) => {
    await withFolder({}, async (root) => {
      const tone = (f: number) => wavBytes(toneSamples(f, 1));
      await Deno.writeFile(`${root}/row.wav`, tone(300));
      await Deno.writeFile(`${root}/other.wav`, tone(350));
      // Tags written by ffmpeg itself, one with control characters in its title and a genre.
      await ffmpeg([
        ...["-f", "lavfi", "-i", "sine=f=440:d=1:sample_rate=16000"],
        ...["-metadata", "title=Night\u0001 Drive\u001b[31m", "-metadata", "artist=Tag Artist"],
        ...["-metadata", "genre=Synthwave", "-metadata", "album=Nights", "-metadata", "date=2019"],
        `${root}/tagged.mp3`,
      ]);
      // Every column filled; the album and title hold NUL and control characters, which PostgreSQL
      // refuses (NUL) or which would garble a chat message.
      await Deno.writeTextFile(
        `${root}/metadata.csv`,
        "path,title,artist,album,album_artist,genre,year,track,license,url\n" +
          "row.wav,Ro\u0000w\u0007,Ann,L\u0000P,Various Artists,Jazz; Blues,1999,7,CC BY 4.0,https://example.org/row\n" +
          "other.wav,Other,Ann,L\u0000P,Various Artists,Jazz,2000,8,CC BY 4.0,https://example.org/other\n",
      );
      const res = await readFolderCatalog({ root, readTags: (p) => readTagsMany(p), logger: silentLogger });
      const cleaned = res.tracks.map((track) => cleanTrack(track));
      await t.step("every value is cleaned, and what changed is said", () => {
        assert.deepEqual(cleaned.map((c) => [c.track.audioPath, c.notes]), [
          ["other.wav", ["album: control characters removed"]],
          ["row.wav", ["title: control characters removed", "album: control characters removed"]],
          ["tagged.mp3", ["title: control characters removed"]],
        ]);
      });
      await t.step("stored on this database without a refused row", async () => {
        const { ids, failures } = await storeTracks(db, root, cleaned.map((c) => c.track));
        assert.deepEqual(failures, []);
        assert.deepEqual(
          (await storeTracks(db, root, cleaned.map((c) => c.track))).ids,
          ids,
          "a rerun updates",
        );
        const anns = await db.orm.select({ id: artists.id }).from(artists).where(eq(artists.name, "Ann"));
        assert.equal(anns.length, 1, "one artist row per name");
        const cards = await getTrackCards(db, ids as number[]);
        assert.deepEqual(
          cards.map((c) => [c.sourceId, c.title, c.artist, c.album, c.genre, c.license, c.url]),
          [
            ["other.wav", "Other", "Ann", "LP", "Jazz", "CC BY 4.0", "https://example.org/other"],
            ["row.wav", "Row", "Ann", "LP", "Jazz", "CC BY 4.0", "https://example.org/row"],
            ["tagged.mp3", "Night Drive[31m", "Tag Artist", "Nights", "Synthwave", null, null],
          ],
        );
        const albumArtist = alias(artists, "album_artist");
        const [row] = await db.orm.select({
          title: tracks.title,
          year: tracks.year,
          n: tracks.trackNumber,
          albumArtist: albumArtist.name,
          genres: sql<string>`(select string_agg(g.title, ',' order by g.title) from ${trackGenres} tg
            join ${genres} g on g.id = tg.genre_id where tg.track_id = ${tracks.id})`,
        }).from(tracks).innerJoin(albums, eq(albums.id, tracks.albumId))
          .leftJoin(albumArtist, eq(albumArtist.id, albums.artistId))
          .where(eq(tracks.sourceId, "row.wav"));
        assert.deepEqual(row, {
          title: "Row",
          year: 1999,
          n: 7,
          albumArtist: "Various Artists",
          genres: "Blues,Jazz",
        });
      });
    });
  },
);

Deno.test("readFolderCatalog() describes fma_small's 000002.mp3 from its ID3 tags: AWOL, Food, Hip-Hop", async () => {
  const clip = new URL("../../../shared/data/fma_small/000/000002.mp3", import.meta.url).pathname;
  try {
    await Deno.stat(clip);
  } catch {
    console.log(`skipped: ${clip} is absent (../shared/data not available)`);
    return;
  }
  await withFolder({}, async (root) => {
    await Deno.copyFile(clip, `${root}/000002.mp3`);
    const res = await readFolderCatalog({ root, readTags: (p) => readTagsMany(p), logger: silentLogger });
    const [track] = res.tracks;
    assert.deepEqual(
      [
        track?.title,
        track?.artist?.name,
        track?.album?.title,
        track?.topGenre,
        track?.year,
        track?.trackNumber,
      ],
      ["Food", "AWOL", "AWOL - A Way Of Life", "Hip-Hop", 2008, 3],
    );
    assert.ok(Math.abs(track!.durationSeconds! - 30) < 0.1);
    assert.deepEqual(res.skipped, []);
  });
});
