import assert from "node:assert/strict";
import { withTestDatabases } from "../../tests/db_helpers.ts";
import {
  finishReindex,
  getTrackCards,
  listTracksForIndexing,
  stats,
  trackIdsBySourceIds,
  upsertGenres,
  upsertTracks,
} from "../db/repository.ts";
import { isSoundalikeError } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { fmaAudioPath, parseGenresCsv, parsePythonList, readFmaCatalog, readSkipList } from "./fma.ts";

const SHARED_META = new URL("../../../shared/data/fma_metadata", import.meta.url).pathname;
const SHARED_SMALL = new URL("../../../shared/data/fma_small", import.meta.url).pathname;
const SHARED_LISTS = new URL("../../../shared/data/fma_small_lists", import.meta.url).pathname;
const haveShared = await Deno.stat(`${SHARED_META}/tracks.csv`).then(() => true, () => false);
if (!haveShared) console.log(`Skipping tests on the real FMA sample: ${SHARED_META} is absent`);

const COLUMNS: [string, string][] = [
  ["album", "id"],
  ["album", "title"],
  ["artist", "bio"],
  ["artist", "id"],
  ["artist", "name"],
  ["set", "subset"],
  ["track", "bit_rate"],
  ["track", "date_created"],
  ["track", "duration"],
  ["track", "genre_top"],
  ["track", "genres"],
  ["track", "license"],
  ["track", "title"],
];

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** A tracks.csv in FMA's format: three header rows, then one row per track. */
function tracksCsv(rows: Record<string, string>[]): string {
  const lines = [
    ["", ...COLUMNS.map(([top]) => top)],
    ["", ...COLUMNS.map(([, field]) => field)],
    ["track_id", ...COLUMNS.map(() => "")],
    ...rows.map((r) => [r["track_id"] ?? "", ...COLUMNS.map(([top, field]) => r[`${top}.${field}`] ?? "")]),
  ];
  return lines.map((l) => l.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

const GENRES_CSV = "genre_id,#tracks,parent,title,top_level\n" +
  '12,100,0,Rock,12\n21,50,0,Hip-Hop,21\n25,10,12,Punk,12\n100,3,21,"Alt, Hip-Hop",21\n';

function row(id: number, subset: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    "track_id": String(id),
    "album.id": "7",
    "album.title": "Live & Loud",
    "artist.bio": 'She said "hi",\nthen left',
    "artist.id": "3",
    "artist.name": "The Band",
    "set.subset": subset,
    "track.bit_rate": "320000",
    "track.date_created": "2010-01-02 03:04:05",
    "track.duration": "215",
    "track.genre_top": "Rock",
    "track.genres": "[25, 12]",
    "track.license": "Attribution 4.0 International",
    "track.title": `Song ${id}`,
    ...over,
  };
}

async function fixtureDir(rows: Record<string, string>[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_fma_" });
  await Deno.writeTextFile(`${dir}/tracks.csv`, tracksCsv(rows));
  await Deno.writeTextFile(`${dir}/genres.csv`, GENRES_CSV);
  return dir;
}

Deno.test("parsePythonList() reads FMA's list literals without evaluating them", () => {
  assert.deepEqual(parsePythonList("[]"), []);
  assert.deepEqual(parsePythonList(""), []);
  assert.deepEqual(parsePythonList("[21]"), [21]);
  assert.deepEqual(parsePythonList(" [21, 45,  -3 ,] "), [21, 45, -3]);
  assert.deepEqual(parsePythonList("['awol']"), ["awol"]);
  assert.deepEqual(parsePythonList(`['it\\'s', "say \\"x\\"", 'a,b', 'caf\\xe9', '\\u00e9\\n']`), [
    "it's",
    'say "x"',
    "a,b",
    "café",
    "é\n",
  ]);
  assert.deepEqual(parsePythonList(`["don't"]`), ["don't"]);
  for (
    const bad of [
      "[1, 2",
      "21",
      "[1 2]",
      "['a]",
      "[__import__('os')]",
      "[1.5]",
      "[[1]]",
      "[1] x",
      "['\\xZZ']",
    ]
  ) {
    assert.throws(() => parsePythonList(bad), SyntaxError, bad);
  }
});

Deno.test("fmaAudioPath() builds the fma_small tree path from the track id", () => {
  assert.equal(fmaAudioPath(2), "000/000002.mp3");
  assert.equal(fmaAudioPath(98565), "098/098565.mp3");
  assert.equal(fmaAudioPath(155066), "155/155066.mp3");
  assert.throws(() => fmaAudioPath(-1), RangeError);
  assert.throws(() => fmaAudioPath(1.5), RangeError);
});

Deno.test("parseGenresCsv() reads the hierarchy; parent 0 is the top", () => {
  const genres = parseGenresCsv(GENRES_CSV);
  assert.deepEqual(genres[2], { id: 25, title: "Punk", parentId: 12, topLevelId: 12, trackCount: 10 });
  assert.deepEqual(genres[0], { id: 12, title: "Rock", parentId: null, topLevelId: 12, trackCount: 100 });
  assert.equal(genres[3]?.title, "Alt, Hip-Hop");
  assert.throws(() => parseGenresCsv("id,title\n1,x\n"), (e) => isSoundalikeError(e, "bad_dataset"));
});

Deno.test("readFmaCatalog() parses the three-row header, subsets, skip list, audio tree and bad rows", async () => {
  const dir = await fixtureDir([
    row(2, "small"),
    row(3, "medium", {
      "track.genre_top": "",
      "track.genres": "[100]",
      "album.title": "",
      "track.title": "",
    }),
    row(5, "large"),
    row(10, "small"),
    row(11, "small", { "track.genres": "[oops]" }),
    row(12, "small", { "artist.name": "", "track.duration": "", "track.date_created": "" }),
    { ...row(0, "small"), track_id: "x1" },
  ]);
  try {
    const small = await readFmaCatalog({ metadataDir: dir, subset: "small", logger: silentLogger });
    assert.deepEqual(small.tracks.map((t) => t.sourceId), ["2", "10", "12"]);
    assert.deepEqual(small.skipped, [
      { item: "track 11", reason: small.skipped[0]?.reason },
      { item: "tracks.csv record 7", reason: 'bad track_id "x1"' },
    ]);
    assert.match(small.skipped[0]!.reason, /^track.genres: Bad list literal/);
    assert.equal(small.genres.length, 4);
    const first = small.tracks[0]!;
    assert.deepEqual(first, {
      source: "fma",
      sourceId: "2",
      title: "Song 2",
      artist: { sourceId: "3", name: "The Band", url: "https://freemusicarchive.org/music/The_Band" },
      album: {
        sourceId: "7",
        title: "Live & Loud",
        url: "https://freemusicarchive.org/music/The_Band/Live_%26_Loud",
      },
      topGenre: "Rock",
      genreIds: [25, 12],
      trackNumber: null,
      year: null,
      durationSeconds: 215,
      license: "Attribution 4.0 International",
      bitRate: 320000,
      dateCreated: "2010-01-02 03:04:05",
      url: "https://freemusicarchive.org/music/The_Band/Live_%26_Loud/Song_2",
      audioPath: "000/000002.mp3",
      isDemo: false,
    });
    const t12 = small.tracks[2]!;
    assert.equal(t12.artist, null);
    assert.equal(t12.url, null);
    assert.equal(t12.durationSeconds, null);
    assert.equal(t12.dateCreated, null);

    const medium = await readFmaCatalog({ metadataDir: dir, subset: "medium", logger: silentLogger });
    assert.deepEqual(medium.tracks.map((t) => t.sourceId), ["2", "3", "10", "12"]);
    const t3 = medium.tracks[1]!;
    // No genre_top: the top-level genre of the first listed genre; no title: a placeholder.
    assert.equal(t3.topGenre, "Hip-Hop");
    assert.equal(t3.title, "Track 3");
    assert.equal(t3.album, null);
    assert.equal(t3.url, "https://freemusicarchive.org/music/The_Band/Track_3");

    const large = await readFmaCatalog({
      metadataDir: dir,
      skipFiles: ["000010.mp3", "# not a track"],
      source: "demo",
      logger: silentLogger,
    });
    assert.deepEqual(large.tracks.map((t) => t.sourceId), ["2", "3", "5", "12"]);
    assert.ok(large.tracks.every((t) => t.isDemo && t.source === "demo"));
    assert.ok(large.skipped.some((s) => s.item === "000/000010.mp3" && /skip list/.test(s.reason)));

    const audio = `${dir}/audio`;
    await Deno.mkdir(`${audio}/000`, { recursive: true });
    await Deno.writeFile(`${audio}/000/000002.mp3`, new Uint8Array([1]));
    const withAudio = await readFmaCatalog({
      metadataDir: dir,
      subset: "small",
      audioDir: audio,
      logger: silentLogger,
    });
    assert.deepEqual(withAudio.tracks.map((t) => t.sourceId), ["2"]);
    assert.deepEqual(
      withAudio.skipped.filter((s) => /missing/.test(s.reason)).map((s) => s.item),
      ["000/000010.mp3", "000/000011.mp3", "000/000012.mp3"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFmaCatalog() streams files larger than one slice with multi-line quoted fields", async () => {
  const long = 'line one, "quoted"\n'.repeat(40);
  const rows = Array.from(
    { length: 2500 },
    (_, i) => row(i + 1, i % 2 ? "small" : "large", { "artist.bio": long }),
  );
  const dir = await fixtureDir(rows);
  try {
    assert.ok((await Deno.stat(`${dir}/tracks.csv`)).size > 2 << 20);
    const all = await readFmaCatalog({ metadataDir: dir, logger: silentLogger });
    assert.equal(all.tracks.length, 2500);
    assert.deepEqual(all.skipped, []);
    assert.equal(all.tracks.at(-1)?.title, "Song 2500");
    const small = await readFmaCatalog({ metadataDir: dir, subset: "small", logger: silentLogger });
    assert.equal(small.tracks.length, 1250);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFmaCatalog() refuses files that are not FMA's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_fma_" });
  try {
    await Deno.writeTextFile(`${dir}/genres.csv`, GENRES_CSV);
    await Deno.writeTextFile(`${dir}/tracks.csv`, "track_id,title\n2,Food\n");
    await assert.rejects(
      readFmaCatalog({ metadataDir: dir, logger: silentLogger }),
      (e) => isSoundalikeError(e, "bad_dataset") && /three header rows/.test(e.message),
    );
    await assert.rejects(
      readFmaCatalog({ metadataDir: `${dir}/nope`, logger: silentLogger }),
      (e) => isSoundalikeError(e, "bad_dataset") && /Cannot read/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "readFmaCatalog() reads the real FMA sample: 682 rows, 58 in small",
  ignore: !haveShared,
  async fn() {
    const all = await readFmaCatalog({ metadataDir: SHARED_META, logger: silentLogger });
    assert.equal(all.tracks.length, 682);
    assert.deepEqual(all.skipped, []);
    assert.equal(all.genres.length, 163);
    assert.equal(all.tracks[0]?.sourceId, "2");
    assert.equal(all.tracks.at(-1)?.sourceId, "932");
    const small = await readFmaCatalog({ metadataDir: SHARED_META, subset: "small", logger: silentLogger });
    assert.equal(small.tracks.length, 58);
    const food = small.tracks[0]!;
    assert.equal(food.title, "Food");
    assert.equal(food.artist?.name, "AWOL");
    assert.equal(food.topGenre, "Hip-Hop");
    assert.deepEqual(food.genreIds, [21]);
    assert.equal(food.durationSeconds, 168);
    assert.equal(food.license, "Attribution-NonCommercial-ShareAlike 3.0 International");
    assert.equal(food.url, "https://freemusicarchive.org/music/AWOL/AWOL_-_A_Way_Of_Life/Food");
    const medium = await readFmaCatalog({ metadataDir: SHARED_META, subset: "medium", logger: silentLogger });
    assert.ok(medium.tracks.length > small.tracks.length && medium.tracks.length < all.tracks.length);
    assert.ok(small.tracks.every((t) => medium.tracks.some((m) => m.sourceId === t.sourceId)));

    const skipList = await readSkipList(`${SHARED_LISTS}/corrupted_files.txt`);
    assert.ok(skipList.includes("098565.mp3"));
    const withAudio = await readFmaCatalog({
      metadataDir: SHARED_META,
      subset: "small",
      audioDir: SHARED_SMALL,
      skipFiles: skipList,
      logger: silentLogger,
    });
    assert.deepEqual(withAudio.tracks.map((t) => t.audioPath), ["000/000002.mp3", "000/000010.mp3"]);
    assert.equal(withAudio.skipped.length, 56);
  },
});

if (haveShared) {
  withTestDatabases("FMA sample ingest", async ({ db, t }) => {
    const catalog = await readFmaCatalog({ metadataDir: SHARED_META, logger: silentLogger });
    await t.step("stores all 682 tracks with their genres, twice without duplicates", async () => {
      await upsertGenres(db, catalog.genres);
      const ids = await upsertTracks(db, SHARED_SMALL, catalog.tracks);
      assert.equal(new Set(ids).size, 682);
      const again = await upsertTracks(db, SHARED_SMALL, catalog.tracks);
      assert.deepEqual(again, ids);
      assert.equal((await stats(db)).pendingTracks, 682, "stored, waiting for a reindex");
      await finishReindex(db, { indexed: ids, skipped: [], duplicates: [], versions: [] });
      const s = await stats(db);
      assert.equal(s.tracks, 682);
      assert.equal(s.genres, 163);
      assert.equal(s.realTracks, 682);
      assert.equal(s.byTopGenre.reduce((sum, g) => sum + g.count, 0), 682);
      assert.ok(s.byTopGenre.some((g) => g.genre === "Hip-Hop"));
    });
    await t.step("getTrackCards() shows track 2 as FMA describes it", async () => {
      const id = (await trackIdsBySourceIds(db, "fma", ["2"])).get("2")!;
      const track2 = catalog.tracks.find((t) => t.sourceId === "2")!;
      assert.deepEqual([track2.trackNumber, track2.year], [3, 2009], "track.number and album.date_released");
      assert.ok((await listTracksForIndexing(db)).some((t) => t.trackId === id && t.sourceId === "2"));
      const [card] = await getTrackCards(db, [id]);
      assert.deepEqual(card, {
        trackId: id,
        source: "fma",
        sourceId: "2",
        title: "Food",
        artist: "AWOL",
        album: "AWOL - A Way Of Life",
        genre: "Hip-Hop",
        durationSeconds: 168,
        license: "Attribution-NonCommercial-ShareAlike 3.0 International",
        url: "https://freemusicarchive.org/music/AWOL/AWOL_-_A_Way_Of_Life/Food",
        isDemo: false,
      });
    });
  });
}
