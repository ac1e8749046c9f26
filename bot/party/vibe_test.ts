import assert from "node:assert/strict";
import type { HeardLabel } from "../answer.ts";
import { leadingLabels, partyReason, partyVibe } from "./vibe.ts";

const unitAxis = (dims: number, axis: number) => {
  const v = new Float32Array(dims);
  for (let b = 0; b < dims; b += 256) v[b + axis] = 1;
  return v;
};
const label = (task: HeardLabel["task"], className: string, name = className): HeardLabel => ({
  task,
  className,
  label: name,
  probability: 0.9,
});

Deno.test("partyVibe() weighs recent shares most and keeps every block unit length", () => {
  const old = { vector: unitAxis(2304, 0), labels: [] };
  const recent = { vector: unitAxis(2304, 1), labels: [] };
  const vibe = partyVibe([old, recent], 0.5)!;
  for (let b = 0; b < 2304; b += 256) {
    const block = vibe.subarray(b, b + 256);
    assert.ok(Math.abs(Math.hypot(...block) - 1) < 1e-6);
    // Weights 1 (recent) and 0.5 (old): the block points at (0.5, 1) normalised.
    assert.ok(Math.abs(block[1]! / block[0]! - 2) < 1e-5);
  }
  assert.equal(partyVibe([]), undefined);
  assert.throws(() => partyVibe([old, { vector: new Float32Array(10), labels: [] }]), RangeError);
});

Deno.test("leadingLabels() ranks what was heard, recent shares counting more", () => {
  const lead = leadingLabels([
    { vector: new Float32Array(0), labels: [label("genre", "rock", "Rock")] },
    { vector: new Float32Array(0), labels: [label("genre", "rock", "Rock")] },
    {
      vector: new Float32Array(0),
      labels: [label("genre", "jazz", "Jazz"), label("emotion", "cluster2", "Cheerful, fun")],
    },
  ], 0.5);
  const genres = lead.get("genre")!;
  // Weights: jazz 1 (newest), rock 0.5 + 0.25.
  assert.deepEqual(genres.map((g) => [g.className, Number(g.share.toFixed(3))]), [["jazz", 0.571], [
    "rock",
    0.429,
  ]]);
  assert.equal(lead.get("emotion")![0]!.share, 1);
});

Deno.test("partyReason() names the party's leading labels a track shares, or its closeness", () => {
  const lead = leadingLabels([{
    vector: new Float32Array(0),
    labels: [
      label("genre", "jazz", "Jazz"),
      label("emotion", "cluster2", "Cheerful, fun"),
      label("instrument", "piano", "Piano"),
    ],
  }]);
  assert.equal(
    partyReason(
      [
        label("genre", "jazz", "Jazz"),
        label("emotion", "cluster2", "Cheerful, fun"),
        label("instrument", "drum", "Drums"),
      ],
      lead,
      87.4,
    ),
    "It shares the party's Jazz and the cheerful, fun mood (87 % like the party so far)",
  );
  assert.equal(partyReason([], lead, 80), "Closest to the party's vibe (80 % like the party so far)");
});
