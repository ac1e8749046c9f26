import assert from "node:assert/strict";
import { balanceClasses, countByLabel, seededRandom, shuffled, splitByGroup } from "./split.ts";

/** 3 classes x 20 tracks, each track 3 segment items sharing a group. */
function items() {
  const out: { label: string; group: string; seg: number }[] = [];
  for (const label of ["a", "b", "c"]) {
    for (let t = 0; t < 20; t++) {
      for (let seg = 0; seg < 3; seg++) out.push({ label, group: `${label}${t}`, seg });
    }
  }
  return out;
}

Deno.test("splitByGroup() never puts one group in two splits", () => {
  const s = splitByGroup(items(), 7);
  const groups = (xs: { group: string }[]) => new Set(xs.map((x) => x.group));
  const [tr, va, te] = [groups(s.train), groups(s.validation), groups(s.test)];
  for (const g of tr) assert.ok(!va.has(g) && !te.has(g), g);
  for (const g of va) assert.ok(!te.has(g), g);
  assert.equal(s.train.length + s.validation.length + s.test.length, 180);
  // every segment of a group is in the same split
  for (const split of [s.train, s.validation, s.test]) {
    for (const g of groups(split)) assert.equal(split.filter((x) => x.group === g).length, 3);
  }
});

Deno.test("splitByGroup() is stratified 70/15/15 per class and reproducible from its seed", () => {
  const s = splitByGroup(items(), 7);
  assert.deepEqual(countByLabel(s.train), { a: 42, b: 42, c: 42 }); // 14 tracks x 3 segments
  assert.deepEqual(countByLabel(s.validation), { a: 9, b: 9, c: 9 });
  assert.deepEqual(countByLabel(s.test), { a: 9, b: 9, c: 9 });
  assert.deepEqual(splitByGroup(items(), 7), s);
  assert.notDeepEqual(splitByGroup(items(), 8).test, s.test);
});

Deno.test("splitByGroup() gives every split a track when a class has only three", () => {
  const few = ["x0", "x1", "x2", "y0", "y1", "y2"].map((group) => ({ label: group[0]!, group }));
  const s = splitByGroup(few, 1);
  assert.deepEqual([s.train.length, s.validation.length, s.test.length], [2, 2, 2]);
  assert.throws(() => splitByGroup(few, 1, { train: 0.9, validation: 0.1 }), RangeError);
});

Deno.test("balanceClasses() caps classes with a seeded subset and reports the rest", () => {
  const xs = [...Array.from({ length: 5 }, (_, i) => ({ label: "a", id: i })), { label: "b", id: 9 }];
  const { kept, dropped } = balanceClasses(xs, { perClass: 2, seed: 4 });
  assert.deepEqual(countByLabel(kept), { a: 2, b: 1 });
  assert.equal(dropped.length, 3);
  assert.deepEqual(balanceClasses(xs, { perClass: 2, seed: 4 }).kept, kept);
});

Deno.test("balanceClasses() oversamples smaller classes up to the largest", () => {
  const xs = [...Array.from({ length: 5 }, (_, i) => ({ label: "a", id: i })), { label: "b", id: 9 }, {
    label: "b",
    id: 10,
  }];
  const { kept, dropped } = balanceClasses(xs, { oversample: true });
  assert.deepEqual(countByLabel(kept), { a: 5, b: 5 });
  assert.equal(dropped.length, 0);
  assert.ok(kept.filter((x) => x.label === "b").every((x) => x.id === 9 || x.id === 10));
});

Deno.test("shuffled() is a seeded permutation", () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const a = shuffled(xs, seededRandom(3));
  assert.deepEqual([...a].sort((p, q) => p - q), xs);
  assert.deepEqual(shuffled(xs, seededRandom(3)), a);
  assert.notDeepEqual(a, xs);
});

Deno.test("splitByGroup() sends pinned groups to the test split and counts them in its share", () => {
  const xs = items().map((x) => ({
    ...x,
    ...(x.label === "a" && ["a1", "a2", "a3", "a4"].includes(x.group)
      ? { pinnedSplit: "test" as const }
      : {}),
  }));
  const s = splitByGroup(xs, 7);
  const testGroups = new Set(s.test.map((x) => x.group));
  for (const g of ["a1", "a2", "a3", "a4"]) assert.ok(testGroups.has(g), g);
  // class a wants 3 test tracks (15 % of 20) but 4 are pinned: no unpinned a track joins them
  assert.deepEqual(countByLabel(s.test), { a: 12, b: 9, c: 9 });
  assert.deepEqual(countByLabel(s.validation), { a: 9, b: 9, c: 9 });
  assert.equal(s.train.filter((x) => x.label === "a").length, 13 * 3);
  assert.ok(s.train.every((x) => !testGroups.has(x.group)));
});
