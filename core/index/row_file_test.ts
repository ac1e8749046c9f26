import assert from "node:assert/strict";
import { forEachChunk, memoryRows, openRowFile, pickRows, RowWriter } from "./row_file.ts";

const DIM = 3;
const rows = (n: number) => Float32Array.from({ length: n * DIM }, (_, i) => i);

Deno.test("RowWriter/openRowFile: rows written by chunks read back by position", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const writer = new RowWriter(`${dir}/r.f32`, DIM);
    assert.equal(writer.write(rows(2)), 0);
    assert.equal(writer.write(rows(3).subarray(DIM)), 2, "the first row's index is returned");
    writer.close();
    const file = openRowFile(`${dir}/r.f32`, DIM);
    try {
      assert.equal(file.rows, 4);
      const out = new Float32Array(2 * DIM);
      file.read(1, out);
      assert.deepEqual([...out], [3, 4, 5, 3, 4, 5]);
      assert.throws(() => file.read(3, out), RangeError, "past the end");
    } finally {
      file.close();
    }
    assert.throws(() => writer.write(new Float32Array(4)), RangeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openRowFile() refuses a truncated file, naming it", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/t.f32`, new Uint8Array(DIM * 4 + 5));
    assert.throws(() => openRowFile(`${dir}/t.f32`, DIM), /t\.f32 holds 17 bytes.*truncated/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("pickRows() reads rows in the order given, runs at once, and checks the order", () => {
  const source = memoryRows(rows(6), DIM);
  const reads: number[] = [];
  const counting = {
    ...source,
    read: (from: number, out: Float32Array) => (reads.push(from), source.read(from, out)),
  };
  const view = pickRows(counting, Int32Array.of(4, 0, 1, 2, 5));
  assert.equal(view.rows, 5);
  const out = new Float32Array(5 * DIM);
  view.read(0, out);
  assert.deepEqual([...out], [12, 13, 14, 0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17]);
  assert.deepEqual(reads, [4, 0, 5], "rows 0-2 in one read");
  assert.throws(() => pickRows(source, Int32Array.of(6)), /outside the 6 rows/);
});

Deno.test("forEachChunk() visits every row once, in chunks, with their first row", () => {
  const seen: [number, number[]][] = [];
  forEachChunk(
    memoryRows(rows(5), DIM),
    2,
    (chunk, from) => seen.push([from, [...chunk].filter((_, i) => i % DIM === 0)]),
  );
  assert.deepEqual(seen, [[0, [0, 3]], [2, [6, 9]], [4, [12]]]);
  let calls = 0;
  forEachChunk(memoryRows(new Float32Array(0), DIM), 2, () => calls++);
  assert.equal(calls, 0);
});
