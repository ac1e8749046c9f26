import assert from "node:assert/strict";
import { MSD_TAGS, MTT_TAGS } from "./teacher.ts";
import {
  classScores,
  GENRE_TAG_MAP,
  INSTRUMENT_TAG_MAP,
  mapClasses,
  rowsInWindow,
  toDistribution,
  windowTarget,
} from "./targets.ts";

Deno.test("the genre map keeps seven GTZAN genres and adds electronic, folk and rnb; every tag exists", () => {
  assert.deepEqual(mapClasses(GENRE_TAG_MAP), [
    "blues",
    "country",
    "electronic",
    "folk",
    "hiphop",
    "jazz",
    "metal",
    "pop",
    "rnb",
    "rock",
  ]);
  for (const tags of Object.values(GENRE_TAG_MAP.classes)) {
    for (const t of tags) assert.ok(MSD_TAGS.includes(t), t);
  }
  for (const tags of Object.values(INSTRUMENT_TAG_MAP.classes)) {
    for (const t of tags) assert.ok(MTT_TAGS.includes(t), t);
  }
  assert.ok(["drums", "guitar", "piano", "strings"].every((c) => mapClasses(INSTRUMENT_TAG_MAP).includes(c)));
});

Deno.test("classScores() takes the largest of a class's tags; toDistribution() normalises", () => {
  const tags = new Float32Array(50);
  tags[MSD_TAGS.indexOf("Hip-Hop")] = 0.8;
  tags[MSD_TAGS.indexOf("hard rock")] = 0.3;
  tags[MSD_TAGS.indexOf("rock")] = 0.1;
  const s = classScores(GENRE_TAG_MAP, tags);
  const classes = mapClasses(GENRE_TAG_MAP);
  assert.ok(Math.abs(s[classes.indexOf("hiphop")]! - 0.8) < 1e-6);
  assert.ok(Math.abs(s[classes.indexOf("rock")]! - 0.3) < 1e-6);
  const p = toDistribution(s);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.deepEqual(Array.from(toDistribution(new Float32Array(4))), [0.25, 0.25, 0.25, 0.25]);
});

Deno.test("rowsInWindow(): the 3 s patches inside a 10 s window, or the nearest one", () => {
  const all = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(rowsInWindow(all, 0, 10), [0, 1, 2]);
  assert.deepEqual(rowsInWindow(all, 10, 20), [4, 5]); // patch 3 starts at 8.98 s, patch 6 ends at 20.94 s
  // strided patches 1, 4, 7: a window holding only patches 2 and 3 gets the nearest (row 0 = patch 1 or row 1 = patch 4)
  const rows = rowsInWindow([1, 4, 7], 6.2, 12.1);
  assert.equal(rows.length, 1);
});

Deno.test("windowTarget() averages the window's patches into a distribution and an embedding", () => {
  const n = 4;
  const tags = new Float32Array(n * 50);
  for (let i = 0; i < n; i++) tags[i * 50 + MSD_TAGS.indexOf(i < 3 ? "jazz" : "metal")] = 0.9;
  const emb = Float32Array.from({ length: n * 200 }, (_, k) => Math.floor(k / 200));
  const out = { n, tags, embedding: emb };
  const t = windowTarget(GENRE_TAG_MAP, out, [0, 1, 2, 3], out, 0, 10);
  const classes = mapClasses(GENRE_TAG_MAP);
  assert.equal(t.probs.indexOf(Math.max(...t.probs)), classes.indexOf("jazz"));
  assert.ok(Math.abs(t.embedding![0]! - 1) < 1e-6); // mean of rows 0, 1, 2
});
