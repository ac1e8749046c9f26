import assert from "node:assert/strict";
import { parseCsv } from "./csv.ts";

Deno.test("parseCsv() reads quoted fields holding commas, newlines and doubled quotes", () => {
  const text = 'id,title,notes\n1,"Hello, world","line one\nline two"\n2,"She said ""hi""",plain\n';
  assert.deepEqual(parseCsv(text), [
    ["id", "title", "notes"],
    ["1", "Hello, world", "line one\nline two"],
    ["2", 'She said "hi"', "plain"],
  ]);
});

Deno.test("parseCsv() reads CRLF line ends and drops a leading byte-order mark", () => {
  const rows = parseCsv('\uFEFFa,b\r\n1,"x\r\ny"\r\n', { columns: true });
  assert.deepEqual(rows, [{ a: "1", b: "x\r\ny" }]);
  assert.deepEqual(Object.keys(rows[0]!), ["a", "b"]);
});

Deno.test("parseCsv() with columns: true keys records by the header and leaves the header out", () => {
  const text = 'genre_id,#tracks,title\n1,8693,"Avant-Garde, Experimental"\n\n2,5271,International\n';
  assert.deepEqual(parseCsv(text, { columns: true, skipEmptyLines: true }), [
    { "genre_id": "1", "#tracks": "8693", title: "Avant-Garde, Experimental" },
    { "genre_id": "2", "#tracks": "5271", title: "International" },
  ]);
});

Deno.test("parseCsv() renames the header through a columns function", () => {
  const rows = parseCsv(" Path ,TITLE\na.mp3,One\n", {
    columns: (h) => h.map((c) => c.trim().toLowerCase()),
  });
  assert.deepEqual(rows, [{ path: "a.mp3", title: "One" }]);
});

Deno.test("parseCsv() keeps empty lines and spaces unless told otherwise", () => {
  const text = "a, b \n\n1 , 2\n";
  // Kept, an empty line is a record of one empty field (so only relaxColumnCount accepts it).
  assert.deepEqual(parseCsv(text, { relaxColumnCount: true }), [["a", " b "], [""], ["1 ", " 2"]]);
  assert.throws(() => parseCsv(text), /Invalid Record Length/i);
  assert.deepEqual(parseCsv(text, { skipEmptyLines: true, trim: true }), [["a", "b"], ["1", "2"]]);
});

Deno.test("parseCsv() refuses ragged records unless relaxColumnCount, and an unclosed quote always", () => {
  const ragged = "a,b,c\n1,2\n3,4,5,6\n";
  assert.throws(() => parseCsv(ragged), /Invalid Record Length/i);
  assert.deepEqual(parseCsv(ragged, { relaxColumnCount: true }), [["a", "b", "c"], ["1", "2"], [
    "3",
    "4",
    "5",
    "6",
  ]]);
  const records = parseCsv(ragged, { columns: true, relaxColumnCount: true });
  assert.deepEqual(records[0], { a: "1", b: "2" });
  assert.throws(() => parseCsv('a,b\n1,"open\n'), /quote/i);
});

Deno.test("parseCsv() of empty text gives no rows", () => {
  assert.deepEqual(parseCsv(""), []);
  assert.deepEqual(parseCsv("", { columns: true }), []);
});
