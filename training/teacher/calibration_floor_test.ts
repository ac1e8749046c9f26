import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256File } from "../../core/mod.ts";
import { loadDataset } from "../datasets/mod.ts";
import { DEFAULT_SPLIT, splitByGroup } from "../split.ts";
import { TEACHER_FLOOR } from "./calibration.ts";
import { type AgreementPoint, changePointFloor, genreAgreement } from "./calibration_floor.ts";
import { MSD_TAGS, MTT_TAGS, readTeacherOutput } from "./teacher.ts";

function output(names: readonly string[], tags: Record<string, number>) {
  const row = new Float32Array(names.length);
  for (const [t, v] of Object.entries(tags)) row[names.indexOf(t)] = v;
  return { n: 1, tags: row, embedding: new Float32Array(0) };
}

Deno.test("genreAgreement(): the MTT tagger confirms or contradicts the MSD genre; jazz cannot be checked", () => {
  const rock = output(MSD_TAGS, { "rock": 0.6, "jazz": 0.1 });
  assert.deepEqual(genreAgreement(rock, output(MTT_TAGS, { "rock": 0.4, "pop": 0.2 })), {
    score: rock.tags[MSD_TAGS.indexOf("rock")]!,
    agrees: true,
  });
  assert.equal(genreAgreement(rock, output(MTT_TAGS, { "rock": 0.1, "techno": 0.3 }))?.agrees, false);
  assert.equal(
    genreAgreement(output(MSD_TAGS, { "jazz": 0.7 }), output(MTT_TAGS, { "rock": 0.4 })),
    undefined,
  );
});

Deno.test("changePointFloor() finds the level where agreement jumps, with enough clips on each side", () => {
  // agreement 50 % below 0.35, 95 % above
  const points: AgreementPoint[] = Array.from({ length: 100 }, (_, i) => {
    const score = 0.1 + 0.5 * i / 100;
    return { score, agrees: score < 0.35 ? i % 2 === 0 : i % 20 !== 0 };
  });
  const c = changePointFloor(points)!;
  assert.equal(c.floor, 0.35);
  assert.ok(c.above.agreement > 0.9 && Math.abs(c.below.agreement - 0.5) < 0.05);
  assert.ok(c.likelihoodRatio > 10);
  assert.equal(changePointFloor(points.slice(0, 15)), undefined); // too few clips for two sides of 10
});

const MOOD = new URL("../../.cache/datasets/mirex-mood", import.meta.url).pathname;
const TARGETS = new URL("../../.cache/teacher/targets", import.meta.url).pathname;

Deno.test("TEACHER_FLOOR is the change point of the two taggers' agreement on the mood set's validation clips", async () => {
  let items;
  try {
    await Deno.stat(join(MOOD, "provenance.json"));
    await Deno.stat(TARGETS);
    items = splitByGroup((await loadDataset(MOOD, { layout: "mirex", seed: 1 })).items, 1, DEFAULT_SPLIT)
      .validation;
  } catch {
    console.log(
      `skipped: no mood set or teacher targets (deno task fetch-mood, fetch-teacher, teacher-targets --splits validation,test): ${MOOD}, ${TARGETS}`,
    );
    return;
  }
  const points: AgreementPoint[] = [];
  for (const it of items) {
    const sha = await sha256File(it.path);
    let p;
    try {
      p = genreAgreement(
        await readTeacherOutput(TARGETS, "msd", sha, it.path),
        await readTeacherOutput(TARGETS, "mtt", sha, it.path, 5),
      );
    } catch (err) {
      console.log(`skipped: the validation clips' teacher targets are incomplete: ${(err as Error).message}`);
      return;
    }
    if (p) points.push(p);
  }
  assert.equal(changePointFloor(points)?.floor, TEACHER_FLOOR);
});
