import assert from "node:assert/strict";
import { parseCsv } from "../../core/catalog/csv.ts";
import { type PlaylistEntry, toCsv, toM3u } from "./playlist.ts";

const entries: PlaylistEntry[] = [
  {
    kind: "shared",
    title: "my clip.mp3",
    artist: null,
    url: null,
    durationSeconds: 30,
    by: "alice",
    at: new Date("2026-12-01T20:00:00Z"),
  },
  {
    kind: "shared",
    title: 'Song, "quoted"\nline',
    artist: "Band",
    url: "https://youtu.be/x",
    durationSeconds: null,
    by: "bob",
    at: new Date("2026-12-01T20:01:00Z"),
  },
  {
    kind: "suggested",
    title: '=HYPERLINK("x")',
    artist: "AWOL",
    url: "https://freemusicarchive.org/music/AWOL/x/Food",
    durationSeconds: 168.4,
    by: null,
    at: new Date("2026-12-01T20:01:05Z"),
  },
];

Deno.test("toCsv() writes rows a CSV parser reads back exactly, formulas defused", () => {
  const rows = parseCsv(toCsv(entries));
  assert.deepEqual(rows[0], [
    "position",
    "kind",
    "title",
    "artist",
    "url",
    "duration_seconds",
    "shared_by",
    "time",
  ]);
  assert.deepEqual(rows[2], [
    "2",
    "shared",
    'Song, "quoted"\nline',
    "Band",
    "https://youtu.be/x",
    "",
    "bob",
    "2026-12-01T20:01:00.000Z",
  ]);
  assert.equal(rows[3]![2], '\'=HYPERLINK("x")');
  assert.equal(rows[3]![5], "168");
  assert.equal(rows.length, 4);
});

Deno.test("toM3u() lists linked tracks with EXTINF and uploaded files as comments", () => {
  const text = toM3u("Friday\nnight", entries);
  assert.ok(text.startsWith("#EXTM3U\n#PLAYLIST:Friday night\n"));
  assert.match(text, /# shared by alice: my clip\.mp3 \(an uploaded file\)\n/);
  assert.match(text, /#EXTINF:-1,Band - Song, "quoted" line\nhttps:\/\/youtu\.be\/x\n/);
  assert.match(
    text,
    /#EXTINF:168,AWOL - =HYPERLINK\("x"\)\nhttps:\/\/freemusicarchive\.org\/music\/AWOL\/x\/Food\n/,
  );
});
