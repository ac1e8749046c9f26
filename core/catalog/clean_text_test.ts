import assert from "node:assert/strict";
import { cleanText, cleanTrack, MAX_NAME_CHARS, MAX_TITLE_CHARS, repairMojibake } from "./clean_text.ts";
import type { CatalogTrack } from "./types.ts";

/** What a UTF-8 string looks like when its bytes are read as Windows-1252 (an independent encoder). */
function asWindows1252(text: string): string {
  return new TextDecoder("windows-1252").decode(new TextEncoder().encode(text));
}

Deno.test("repairMojibake() undoes UTF-8 read as Latin-1 or Windows-1252, once or twice", () => {
  for (const original of ["Café", "Björk – Jóga", "Motörhead’s “Ace”", "東京事変", "Ça va €5"]) {
    const once = asWindows1252(original);
    assert.notEqual(once, original);
    assert.equal(repairMojibake(once), original, once);
    assert.equal(repairMojibake(asWindows1252(once)), original, "twice mis-decoded");
  }
});

Deno.test("repairMojibake() leaves real Latin-1 text and plain text alone", () => {
  for (
    const text of ["Ã la carte", "Beyoncé", "naïve café", "façade", "Œuvre", "©2008 ®", "plain ASCII", ""]
  ) {
    assert.equal(repairMojibake(text), text);
  }
});

Deno.test("cleanText() removes NUL and control characters, keeps letters, and says so", () => {
  assert.deepEqual(cleanText("L\u0000P", 100), { text: "LP", changes: ["control characters removed"] });
  assert.deepEqual(cleanText("\uFEFFNight\u0001 Drive\u001b[31m\u007f\u0085", 100), {
    text: "Night Drive[31m",
    changes: ["control characters removed"],
  });
  assert.deepEqual(cleanText("  two\tlines\r\nhere  ", 100), { text: "two lines here", changes: [] });
  assert.deepEqual(cleanText("Cafe\u0301", 100), { text: "Café", changes: [] }, "NFC");
  assert.deepEqual(cleanText("bad \uD800 surrogate \uDC00", 100), {
    text: "bad surrogate",
    changes: ["control characters removed"],
  });
  assert.deepEqual(cleanText("CafÃ©", 100), { text: "Café", changes: ["mis-decoded characters repaired"] });
});

Deno.test("cleanText() cuts at maxLength characters without splitting one", () => {
  const r = cleanText("😀".repeat(10), 4);
  assert.deepEqual(r, { text: "😀😀😀😀", changes: ["cut to 4 characters"] });
});

function folderTrack(over: Partial<CatalogTrack>): CatalogTrack {
  return {
    source: "folder",
    sourceId: "a/b\u0001.mp3",
    title: "T",
    artist: null,
    album: null,
    topGenre: null,
    genreIds: [],
    durationSeconds: null,
    license: null,
    bitRate: null,
    dateCreated: null,
    url: null,
    audioPath: "a/b\u0001.mp3",
    isDemo: false,
    ...over,
  };
}

Deno.test("cleanTrack() cleans every text and key, keeps the file's path, and notes each field", () => {
  const { track, notes } = cleanTrack(folderTrack({
    title: "Ro\u0000w",
    artist: { sourceId: "ann\u0000", name: "Ann\u0000", url: null },
    album: {
      sourceId: '["ann","l\\u0000p"]',
      title: "L\u0000P",
      url: null,
      artist: { sourceId: "v\u0007a", name: "V\u0007A", url: null },
    },
    topGenre: "Jazz\u0000",
    genres: ["Jazz\u0000", "Jazz", " Blues "],
    license: "x".repeat(3000),
  }));
  assert.equal(track.title, "Row");
  assert.deepEqual(track.artist, { sourceId: "ann", name: "Ann", url: null });
  assert.deepEqual(track.album, {
    sourceId: '["ann","l\\u0000p"]', // JSON escapes control characters: it is stored as written
    title: "LP",
    url: null,
    artist: { sourceId: "va", name: "VA", url: null },
  });
  assert.deepEqual([track.topGenre, track.genres], ["Jazz", ["Jazz", "Blues"]]);
  assert.equal(track.license?.length, 2000);
  assert.equal(track.sourceId, "a/b\u0001.mp3");
  assert.equal(track.audioPath, "a/b\u0001.mp3");
  assert.deepEqual(notes, [
    "title: control characters removed",
    "artist: control characters removed",
    "album: control characters removed",
    "album artist: control characters removed",
    "genre: control characters removed",
    "license: cut to 2000 characters",
  ]);
});

Deno.test("cleanTrack() falls back to the file name for a title that cleans to nothing and bounds names", () => {
  const { track } = cleanTrack(folderTrack({
    title: "\u0000\u0001",
    audioPath: "x/My Song.mp3",
    artist: { sourceId: "a", name: "n".repeat(MAX_NAME_CHARS + 50), url: null },
  }));
  assert.equal(track.title, "My Song.mp3");
  assert.equal(track.artist?.name.length, MAX_NAME_CHARS);
  assert.equal(
    cleanTrack(folderTrack({ title: "t".repeat(MAX_TITLE_CHARS * 2) })).track.title.length,
    MAX_TITLE_CHARS,
  );
});
