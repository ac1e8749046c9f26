import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError } from "../../core/mod.ts";
import { tempDir, writeTone } from "./_fake_audio.ts";
import { gitRun, hasGit } from "./_git_fixture.ts";
import {
  dropHeldOutArtists,
  fetchQuadrants,
  isQuadrantFolder,
  loadQuadrants,
  parseQuadrantMetadata,
  QUADRANT_METADATA,
} from "./quadrants.ts";

const HEADER = '"Song","Artist","Title","Quadrant","PQuad"';

/** `<root>/Q1..Q4/MT<k>.wav` (two a quadrant) and the authors' metadata CSV; returns its rows. */
async function writeQuadrantSet(
  root: string,
  metadataName = "panda_dataset_taffc_metadata.csv",
): Promise<string[]> {
  const rows: string[] = [];
  for (let k = 0; k < 8; k++) {
    const q = `Q${(k % 4) + 1}`;
    await Deno.mkdir(join(root, q), { recursive: true });
    await writeTone(join(root, q, `MT${k}.wav`), { seconds: 4, freq: 200 + 40 * k, seed: k + 1 });
    rows.push(`"MT${k}","Artist ${k % 3}, The","Song, ${k}","${q}",0.5`);
  }
  await Deno.writeTextFile(join(root, metadataName), [HEADER, ...rows].join("\n") + "\n");
  return rows;
}

Deno.test("parseQuadrantMetadata() reads quoted rows and names a row with an unknown quadrant", () => {
  const rows = parseQuadrantMetadata(`${HEADER}\n"MT1","Nina Simone","Sinnerman, live","Q2",1\n`);
  assert.deepEqual(rows, [{ song: "MT1", artist: "Nina Simone", title: "Sinnerman, live", quadrant: "Q2" }]);
  assert.throws(
    () => parseQuadrantMetadata(`${HEADER}\n"MT1","A","B","Q5",1\n`, "meta.csv"),
    (err: unknown) => isSoundalikeError(err) && /meta\.csv row 2: unknown quadrant "Q5"/.test(err.message),
  );
});

Deno.test("loadQuadrants() labels each clip by its folder, groups by artist and skips clips the metadata does not back", async () => {
  await using dir = await tempDir("quadrants");
  await writeQuadrantSet(dir.path, QUADRANT_METADATA);
  // a clip in the wrong folder and one with no row
  await Deno.rename(join(dir.path, "Q1", "MT0.wav"), join(dir.path, "Q2", "MT0.wav"));
  await writeTone(join(dir.path, "Q3", "MT99.wav"), { seconds: 4, freq: 300, seed: 9 });
  const ds = await loadQuadrants(dir.path);
  assert.deepEqual(ds.classes, ["Q1", "Q2", "Q3", "Q4"]);
  assert.equal(ds.items.length, 7);
  assert.deepEqual(ds.skipped.map((s) => s.reason).sort(), ["no metadata row", "the metadata says Q1"]);
  const mt5 = ds.items.find((it) => it.trackId === "4q:MT5")!;
  assert.equal(mt5.label, "Q2");
  // "Artist 2, The" and "Artist 2" are one artist, as the mood set's artist key says
  assert.equal(mt5.group, "artist:artist 2");
  assert.equal(await isQuadrantFolder(dir.path), true);
  assert.equal(await isQuadrantFolder(join(dir.path, "Q1")), false);
  await Deno.remove(join(dir.path, QUADRANT_METADATA));
  assert.equal(await isQuadrantFolder(dir.path), false);
  await assert.rejects(loadQuadrants(dir.path), /deno task fetch-4q/);
});

Deno.test("dropHeldOutArtists() leaves out every clip by a held-out artist, however the name is written", () => {
  const it = (artist: string, id: string) => ({ path: id, label: "Q1", trackId: id, group: id, artist });
  const r = dropHeldOutArtists(
    [it("Bob Dylan", "a"), it("The Coasters", "b"), it("Nina Simone", "c"), it("", "d")],
    [{ artist: "Dylan, Bob" }, { artist: "Coasters" }, {}],
  );
  assert.deepEqual(r.kept.map((x) => x.trackId), ["c", "d"]);
  assert.equal(r.dropped, 2);
});

Deno.test("fetchQuadrants() extracts one commit, checks the folders against the metadata and writes provenance", async (t) => {
  if (!(await hasGit())) {
    console.log("skipped: git is not installed");
    return;
  }
  await using dir = await tempDir("quadrantrepo");
  const repo = join(dir.path, "repo");
  await writeQuadrantSet(join(repo, "Dataset"));
  await Deno.writeTextFile(join(repo, "Dataset", "readme.txt"), "not extracted");
  await gitRun(dir.path, "init", "-q", repo);
  await gitRun(repo, "add", "-A");
  await gitRun(repo, "commit", "-q", "-m", "set");
  const commit = await gitRun(repo, "rev-parse", "HEAD");
  const out = join(dir.path, "out");
  await t.step("extracts and records", async () => {
    const r = await fetchQuadrants({
      from: repo,
      out,
      commit,
      repository: "someone/4q",
      expectedPerQuadrant: 2,
    });
    assert.equal(r.extracted, true);
    assert.deepEqual(r.provenance.counts, { audio: 8, quadrants: { Q1: 2, Q2: 2, Q3: 2, Q4: 2 } });
    assert.equal(r.provenance.files.length, 9);
    assert.equal(r.provenance.repository, "someone/4q");
    assert.equal((await loadQuadrants(out)).items.length, 8);
    await assert.rejects(Deno.stat(join(out, "readme.txt")), Deno.errors.NotFound);
    assert.equal((await fetchQuadrants({ from: repo, out, commit })).extracted, false);
  });
  await t.step("published counts and a clip filed under another quadrant are refused", async () => {
    await assert.rejects(
      fetchQuadrants({ from: repo, out: join(dir.path, "o2"), commit, expectedPerQuadrant: 225 }),
      /2\/2\/2\/2 clips, the published set 225 each/,
    );
    await Deno.rename(join(repo, "Dataset", "Q1", "MT0.wav"), join(repo, "Dataset", "Q2", "MT0.wav"));
    await gitRun(repo, "add", "-A");
    await gitRun(repo, "commit", "-q", "-m", "moved");
    const moved = await gitRun(repo, "rev-parse", "HEAD");
    await assert.rejects(
      fetchQuadrants({ from: repo, out: join(dir.path, "o3"), commit: moved }),
      /Dataset\/Q2\/MT0\.wav is in Q2 but the metadata says Q1/,
    );
  });
});
