import assert from "node:assert/strict";
import { withTestDatabases } from "../../tests/db_helpers.ts";
import type { CatalogGenre, CatalogTrack } from "../catalog/types.ts";
import { mulberry32 } from "../util/random.ts";
import type { Db } from "./client.ts";
import { rowFailureReason } from "./errors.ts";
import {
  currentIndexVersion,
  decodeVector,
  encodeVector,
  finishReindex,
  getCachedEmbeddings,
  getTrackCards,
  listTracksForIndexing,
  markTracksRemoved,
  nextIndexVersion,
  putCachedEmbeddings,
  recordIndexVersion,
  setContentHash,
  setContentHashes,
  stats,
  storeTracks,
  trackIdByContentHash,
  trackIdsBySourceIds,
  upsertGenres,
  upsertTracks,
} from "./repository.ts";

const GENRES: CatalogGenre[] = [
  // Child before parent on purpose: upsertGenres must order them.
  { id: 21, title: "Hip-Hop", parentId: null, topLevelId: 21, trackCount: 10 },
  { id: 100, title: "Alternative Hip-Hop", parentId: 21, topLevelId: 21, trackCount: 2 },
  { id: 12, title: "Rock", parentId: null, topLevelId: 12, trackCount: 5 },
];

function fmaTrack(id: number, over: Partial<CatalogTrack> = {}): CatalogTrack {
  return {
    source: "fma",
    sourceId: String(id),
    title: `Track ${id}`,
    artist: { sourceId: "1", name: "AWOL", url: "https://freemusicarchive.org/music/AWOL" },
    album: { sourceId: "1", title: "A Way Of Life", url: null },
    topGenre: "Hip-Hop",
    genreIds: [21, 100],
    durationSeconds: 168,
    license: "Attribution-NonCommercial-ShareAlike 3.0 International",
    bitRate: 256000,
    dateCreated: "2008-11-26 01:48:12",
    url: `https://freemusicarchive.org/music/AWOL/A_Way_Of_Life/Track_${id}`,
    audioPath: `000/${String(id).padStart(6, "0")}.mp3`,
    isDemo: false,
    ...over,
  };
}

/** Marks every track not removed as indexed, as a reindex that embedded them all would. */
async function indexAll(db: Db): Promise<void> {
  const indexed = (await listTracksForIndexing(db)).map((t) => t.trackId);
  await finishReindex(db, { indexed, skipped: [], duplicates: [], versions: [] });
}

withTestDatabases("repository", async ({ db, t }) => {
  await t.step("upsertGenres() stores the tree parents first and is idempotent", async () => {
    assert.equal(await upsertGenres(db, GENRES), 3);
    assert.equal(await upsertGenres(db, GENRES), 3);
    assert.equal((await stats(db)).genres, 3);
  });

  await t.step("upsertTracks() writes tracks with artists, albums, genres and licenses", async () => {
    const ids = await upsertTracks(db, "/catalog", [fmaTrack(2), fmaTrack(3), fmaTrack(5)], { batchSize: 2 });
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
    const before = await stats(db);
    assert.deepEqual(
      [before.tracks, before.pendingTracks, before.artists],
      [0, 3, 0],
      "stored, not yet indexed",
    );
    await indexAll(db);
    const s = await stats(db);
    assert.equal(s.tracks, 3);
    assert.equal(s.pendingTracks, 0);
    assert.equal(s.artists, 1);
    assert.equal(s.albums, 1);
    assert.equal(s.licenses, 1);
    assert.equal(s.trackGenres, 6);
    assert.deepEqual(s.byTopGenre, [{ genre: "Hip-Hop", count: 3 }]);
  });

  await t.step("upsertTracks() updates rows in place on a rerun", async () => {
    const before = await trackIdsBySourceIds(db, "fma", ["2", "3", "5", "999"]);
    assert.equal(before.size, 3);
    const ids = await upsertTracks(db, "/catalog", [fmaTrack(2, { title: "Food", genreIds: [21] })]);
    assert.equal(ids[0], before.get("2"));
    const [card] = await getTrackCards(db, [ids[0]!]);
    assert.equal(card?.title, "Food");
    assert.equal((await stats(db)).tracks, 3);
    assert.equal((await stats(db)).trackGenres, 5);
  });

  await t.step(
    "upsertTracks() creates unknown top genres and keeps demo and folder tracks apart",
    async () => {
      const folder: CatalogTrack = {
        ...fmaTrack(0),
        source: "folder",
        sourceId: "a/b.ogg",
        title: "b",
        artist: null,
        album: null,
        topGenre: "Chiptune",
        genreIds: [],
        license: null,
        url: null,
        audioPath: "a/b.ogg",
      };
      const demo: CatalogTrack = {
        ...fmaTrack(2),
        source: "demo",
        isDemo: true,
        topGenre: "rock",
        genreIds: [],
      };
      const [folderId, demoId] = await upsertTracks(db, "/other", [folder, demo]);
      await indexAll(db);
      const cards = await getTrackCards(db, [demoId!, folderId!]);
      assert.deepEqual(cards.map((c) => [c.genre, c.isDemo, c.artist]), [
        ["Rock", true, "AWOL"],
        ["Chiptune", false, null],
      ]);
      const s = await stats(db);
      assert.equal(s.demoTracks, 1);
      assert.equal(s.realTracks, 4);
      assert.deepEqual(s.bySource, [
        { source: "demo", count: 1 },
        { source: "fma", count: 3 },
        { source: "folder", count: 1 },
      ]);
    },
  );

  await t.step("getTrackCards() follows the order of ids and leaves out unknown ones", async () => {
    const map = await trackIdsBySourceIds(db, "fma", ["2", "3", "5"]);
    const order = [map.get("5")!, 123456, map.get("2")!, map.get("3")!];
    const cards = await getTrackCards(db, order);
    assert.deepEqual(cards.map((c) => c.trackId), [order[0], order[2], order[3]]);
    assert.deepEqual(cards[0], {
      trackId: order[0],
      source: "fma",
      sourceId: "5",
      title: "Track 5",
      artist: "AWOL",
      album: "A Way Of Life",
      genre: "Hip-Hop",
      durationSeconds: 168,
      license: "Attribution-NonCommercial-ShareAlike 3.0 International",
      url: "https://freemusicarchive.org/music/AWOL/A_Way_Of_Life/Track_5",
      isDemo: false,
    });
    assert.deepEqual(await getTrackCards(db, []), []);
  });

  await t.step("content hashes survive a rerun unless the audio path moves", async () => {
    const map = await trackIdsBySourceIds(db, "fma", ["2", "3"]);
    await setContentHash(db, map.get("2")!, "h2");
    await setContentHashes(db, [{ trackId: map.get("3")!, contentHash: "h3" }]);
    await upsertTracks(db, "/catalog", [fmaTrack(2), fmaTrack(3, { audioPath: "moved/000003.mp3" })]);
    const rows = await listTracksForIndexing(db);
    const byId = new Map(rows.map((r) => [r.trackId, r]));
    assert.equal(byId.get(map.get("2")!)?.contentHash, "h2");
    assert.equal(byId.get(map.get("3")!)?.contentHash, null);
    assert.equal(byId.get(map.get("3")!)?.audioPath, "moved/000003.mp3");
    assert.deepEqual(rows.map((r) => r.trackId), [...rows.map((r) => r.trackId)].sort((a, b) => a - b));
  });

  await t.step("the embedding cache round-trips float32 vectors per models hash", async () => {
    const v = new Float32Array([0.5, -1.25, 3.4028234663852886e38, 1e-7]);
    await putCachedEmbeddings(db, "m1", [{ contentHash: "h2", vector: v }]);
    await putCachedEmbeddings(db, "m1", [{ contentHash: "h2", vector: v }]);
    const got = await getCachedEmbeddings(db, ["h2", "h3"], "m1");
    assert.deepEqual([...got.keys()], ["h2"]);
    assert.deepEqual(got.get("h2"), v);
    assert.equal((await getCachedEmbeddings(db, ["h2"], "m2")).size, 0);
  });

  await t.step("recordIndexVersion() keeps one current index per kind and metric", async () => {
    assert.equal(await currentIndexVersion(db, "flat"), null);
    assert.equal(await nextIndexVersion(db), 1);
    await recordIndexVersion(db, {
      version: 1,
      kind: "flat",
      metric: "l2",
      modelsHash: "m1",
      count: 3,
      path: "v1/flat",
    });
    await recordIndexVersion(db, {
      version: 1,
      kind: "ivf",
      metric: "l2",
      modelsHash: "m1",
      count: 3,
      path: "v1/ivf",
    });
    assert.equal(await nextIndexVersion(db), 2);
    await recordIndexVersion(db, {
      version: 2,
      kind: "flat",
      metric: "l2",
      modelsHash: "m1",
      count: 4,
      path: "v2/flat",
    });
    assert.equal((await currentIndexVersion(db, "flat", "l2"))?.version, 2);
    assert.equal((await currentIndexVersion(db, "ivf"))?.path, "v1/ivf");
    assert.equal((await stats(db)).indexVersions, 3);
  });
});

withTestDatabases("track statuses", async ({ db, t }) => {
  await upsertGenres(db, GENRES);
  const [id2, id3, demoId] = await upsertTracks(db, "/c", [fmaTrack(2), fmaTrack(3), {
    ...fmaTrack(2),
    source: "demo",
  }]);
  const [id5, id7] = await upsertTracks(db, "/c", [fmaTrack(5), fmaTrack(7)]);
  await setContentHashes(db, [{ trackId: id2!, contentHash: "same" }, {
    trackId: id5!,
    contentHash: "same",
  }]);

  await t.step("finishReindex() records each track's status, the index versions, and counts", async () => {
    const deleted = await finishReindex(db, {
      indexed: [id2!, id3!, demoId!],
      skipped: [{ trackId: id7!, reason: "too short: 1.0 s of audio, at least 3 s are needed" }],
      duplicates: [{ trackId: id5!, reason: "the same file as 000/000002.mp3" }],
      versions: [{ version: 1, kind: "flat", metric: "l2", modelsHash: "m", count: 3, path: "v1" }],
    });
    assert.equal(deleted, 0);
    const s = await stats(db);
    assert.deepEqual(
      [s.tracks, s.skippedTracks, s.duplicateTracks, s.pendingTracks, s.removedTracks],
      [3, 1, 1, 0, 0],
    );
    assert.deepEqual(s.bySource, [{ source: "demo", count: 1 }, { source: "fma", count: 2 }]);
    assert.equal((await currentIndexVersion(db, "flat"))?.count, 3);
    assert.equal(await trackIdByContentHash(db, "same"), id2, "the kept track, not its duplicate");
  });

  await t.step(
    "markTracksRemoved() marks tracks gone from their source; they stay until the next finishReindex()",
    async () => {
      assert.equal(await markTracksRemoved(db, "fma", ["3", "5", "7", "404"]), 1);
      assert.equal(await markTracksRemoved(db, "fma", ["3", "5", "7"]), 0, "already marked");
      assert.deepEqual((await listTracksForIndexing(db)).map((r) => r.trackId), [id3, demoId, id5, id7]);
      assert.equal(await trackIdByContentHash(db, "same"), id5);
      assert.equal((await getTrackCards(db, [id2!])).length, 1, "still shown while the old index serves");
      const s = await stats(db);
      assert.deepEqual([s.tracks, s.removedTracks], [2, 1]);
      const deleted = await finishReindex(db, {
        indexed: [id3!, demoId!, id5!],
        skipped: [],
        duplicates: [],
        versions: [],
      });
      assert.equal(deleted, 1);
      assert.deepEqual(await getTrackCards(db, [id2!]), []);
      assert.equal((await stats(db)).trackGenres, 6, "the removed track's genre links went with it");
    },
  );

  await t.step("a removed track back in its catalog waits for the next reindex", async () => {
    assert.equal(await markTracksRemoved(db, "fma", ["3"]), 2);
    const [again] = await upsertTracks(db, "/c", [fmaTrack(5)]);
    assert.equal(again, id5);
    const s = await stats(db);
    assert.deepEqual([s.pendingTracks, s.removedTracks], [1, 1]);
  });
});

withTestDatabases("storeTracks() stores the good rows of a batch the database refuses", async ({ db }) => {
  // 3,000 random characters: even compressed, over PostgreSQL's 2,704-byte index entries.
  const rand = mulberry32(3);
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const long = `${Array.from({ length: 3000 }, () => chars[Math.floor(rand() * chars.length)]).join("")}.mp3`;
  const withNul = { ...fmaTrack(4), title: "Bad\u0000title" };
  const list = [fmaTrack(2), { ...fmaTrack(3), sourceId: long, audioPath: long }, withNul, fmaTrack(5)];
  const { ids, failures } = await storeTracks(db, "/c", list, { batchSize: 10 });
  assert.deepEqual(ids.map((id) => id === undefined), [false, true, true, false]);
  assert.deepEqual(failures.map((f) => f.index), [1, 2]);
  const [tooLong, nul] = failures.map((f) => rowFailureReason(f.error));
  assert.match(tooLong!, /^the database refused it \(index row (size \d+ )?(requires|exceeds)/);
  assert.match(tooLong!, /: a value is too long: shorten the file's path or its tags$/);
  assert.doesNotMatch(tooLong!, /insert into|Failed query/);
  assert.match(nul!, /0x00.*: it holds characters the database cannot store/);
  assert.deepEqual((await getTrackCards(db, ids.filter((id) => id !== undefined))).map((c) => c.sourceId), [
    "2",
    "5",
  ]);
});

withTestDatabases("upsertGenres() folds a genre created by title into the tree's genre", async ({ db }) => {
  const folder: CatalogTrack = {
    ...fmaTrack(0),
    source: "folder",
    sourceId: "x.mp3",
    topGenre: "rock",
    genreIds: [],
  };
  const [id] = await upsertTracks(db, "/f", [folder]);
  await indexAll(db);
  assert.equal((await getTrackCards(db, [id!]))[0]?.genre, "rock");
  await upsertGenres(db, GENRES);
  const [card] = await getTrackCards(db, [id!]);
  assert.equal(card?.genre, "Rock");
  const s = await stats(db);
  assert.equal(s.genres, 3);
  assert.equal(s.trackGenres, 1);
  assert.deepEqual(s.byTopGenre, [{ genre: "Rock", count: 1 }]);
});

Deno.test("encodeVector() writes float32 little-endian bytes", () => {
  const bytes = encodeVector(new Float32Array([1, -2]));
  assert.deepEqual([...bytes], [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  assert.deepEqual(decodeVector(bytes), new Float32Array([1, -2]));
  assert.throws(() => decodeVector(new Uint8Array(3)), RangeError);
});
