import assert from "node:assert/strict";
import { parseCsv } from "../../core/mod.ts";
import {
  FMA_TRACK_COLUMNS,
  fmaAudioPath,
  fmaGenresCsv,
  fmaTracksCsv,
  planDemoTracks,
  pyList,
} from "./fma.ts";
import { GENRES } from "./styles.ts";

const REAL = new URL("../../../shared/data/fma_metadata/", import.meta.url);

function readReal(name: string): string | null {
  try {
    return Deno.readTextFileSync(new URL(name, REAL));
  } catch {
    return null;
  }
}

Deno.test("fmaTracksCsv() parses back with FMA's three header rows and 52 columns", () => {
  const tracks = planDemoTracks(40, 1);
  const rows: string[][] = parseCsv(fmaTracksCsv(tracks), { relaxColumnCount: false }) as string[][];
  assert.equal(rows.length, 3 + 40);
  for (const row of rows) assert.equal(row.length, 53);
  assert.equal(rows[2]![0], "track_id");
  assert.ok(rows[2]!.slice(1).every((c) => c === ""));
  const col = (top: string, field: string) =>
    1 + FMA_TRACK_COLUMNS.findIndex(([a, b]) => a === top && b === field);
  assert.equal(rows[0]![col("set", "subset")], "set");
  assert.equal(rows[1]![col("set", "subset")], "subset");
  const first = rows[3]!;
  assert.equal(first[0], String(tracks[0]!.trackId));
  assert.equal(first[col("set", "subset")], "small");
  assert.match(first[col("track", "genres")]!, /^\[\d+\]$/);
  assert.match(first[col("track", "genres_all")]!, /^\[\d+(, \d+)*\]$/);
  assert.match(first[col("track", "tags")]!, /^\['demo', '[a-z]+', '[a-z]+'\]$/);
  assert.match(first[col("artist", "name")]!, /^Demo /);
  assert.match(first[col("album", "title")]!, /^Soundalike demo/);
  assert.equal(first[col("track", "license")], "Attribution-NonCommercial-ShareAlike 3.0 International");
  assert.equal(first[col("track", "duration")], "30");
});

Deno.test("fmaTracksCsv() uses exactly the real file's header rows", () => {
  const real = readReal("tracks.csv");
  if (real === null) {
    console.log("skipped: ../shared/data/fma_metadata/tracks.csv is absent");
    return;
  }
  const realHead: string[][] = parseCsv(real.split("\n").slice(0, 3).join("\n"));
  const ours: string[][] = parseCsv(fmaTracksCsv(planDemoTracks(2, 1)));
  assert.deepEqual(ours.slice(0, 3), realHead);
});

Deno.test("fmaGenresCsv() writes the real genres.csv header and real ids and titles", () => {
  const tracks = planDemoTracks(60, 2);
  const rows: string[][] = parseCsv(fmaGenresCsv(tracks));
  assert.deepEqual(rows[0], ["genre_id", "#tracks", "parent", "title", "top_level"]);
  const real = readReal("genres.csv");
  if (real !== null) {
    const realRows: string[][] = parseCsv(real);
    for (const row of rows.slice(1)) {
      const match = realRows.find((r) => r[0] === row[0]);
      assert.ok(match, `genre ${row[0]} exists in FMA`);
      assert.deepEqual([match[2], match[3], match[4]], [row[2], row[3], row[4]]);
    }
  }
  // Rock counts metal tracks too (genres_all includes the parent).
  const byId = new Map(rows.slice(1).map((r) => [r[0], Number(r[1])]));
  const rock = tracks.filter((t) => t.genre === "rock" || t.genre === "metal").length;
  assert.equal(byId.get("12"), rock);
});

Deno.test("planDemoTracks() is deterministic and mixes genres and moods", () => {
  const a = planDemoTracks(200, 1), b = planDemoTracks(200, 1);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((t) => t.genre)).size, GENRES.length);
  assert.equal(new Set(a.map((t) => t.emotion)).size, 5);
  assert.equal(new Set(a.map((t) => t.trackId)).size, 200);
  assert.equal(a[0]!.audioPath, "900/900001.mp3");
  assert.notDeepEqual(planDemoTracks(20, 2).map((t) => t.seed), a.slice(0, 20).map((t) => t.seed));
});

Deno.test("fmaAudioPath() and pyList() follow fma_small and pandas", () => {
  assert.equal(fmaAudioPath(2), "000/000002.mp3");
  assert.equal(fmaAudioPath(155320), "155/155320.mp3");
  assert.equal(pyList([21, 45]), "[21, 45]");
  assert.equal(pyList(["a", "it's"]), "['a', 'it\\'s']");
  assert.equal(pyList([]), "[]");
});
