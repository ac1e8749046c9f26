import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError } from "../../core/errors.ts";
import {
  detectLayout,
  GTZAN_GENRES,
  loadDataset,
  loadFolderDataset,
  loadGtzan,
  loadInstruments,
  loadMirexMood,
} from "./mod.ts";
import { normalizeCluster } from "./mirex.ts";
import { parseWavHeader, readWavInfo } from "./wav_header.ts";
import { tempDir, toneWav, writeFolderDataset, writeGarbage, writeTone } from "./_fake_audio.ts";

const rejectsBadDataset = (p: Promise<unknown>, text: RegExp) =>
  assert.rejects(p, (err) => isSoundalikeError(err, "bad_dataset") && text.test(err.message));

Deno.test("readWavInfo() reads the duration; parseWavHeader() names what is wrong", async () => {
  await using dir = await tempDir("wav");
  const p = join(dir.path, "a.wav");
  await writeTone(p, { seconds: 2.5, sampleRate: 8000 });
  const info = await readWavInfo(p);
  assert.ok(typeof info !== "string");
  assert.equal(info.sampleRate, 8000);
  assert.equal(info.channels, 1);
  assert.ok(Math.abs(info.seconds - 2.5) < 1e-9);
  assert.equal(parseWavHeader(new Uint8Array(0), 0), "empty file");
  assert.equal(
    parseWavHeader(new TextEncoder().encode("hello world, not a wav"), 22),
    "not a RIFF/WAVE file",
  );
  const truncated = toneWav({ seconds: 1 }).slice(0, 30);
  assert.equal(typeof parseWavHeader(truncated, 30), "string");
});

Deno.test("loadGtzan() reads genres_original, skips and reports an unreadable clip and bad names", async () => {
  await using dir = await tempDir("gtzan");
  const root = join(dir.path, "genres_original");
  for (const g of GTZAN_GENRES) {
    for (let i = 0; i < 2; i++) {
      await writeTone(join(root, g, `${g}.0000${i}.wav`), { seconds: 3.5, freq: 200 + i });
    }
  }
  await writeGarbage(join(root, "jazz", "jazz.00054.wav"));
  await writeTone(join(root, "rock", "pop.00009.wav"), { seconds: 4 });
  await writeTone(join(root, "rock", "song.wav"), { seconds: 4 });
  await writeTone(join(root, "blues", "blues.00007.wav"), { seconds: 1 });
  await Deno.writeTextFile(join(root, "blues", "notes.txt"), "x");

  assert.equal(await detectLayout(dir.path), "gtzan");
  const ds = await loadGtzan(dir.path);
  assert.deepEqual(ds.classes, [...GTZAN_GENRES]);
  assert.equal(ds.items.length, 20);
  assert.deepEqual(ds.items[0], {
    path: join(root, "blues", "blues.00000.wav"),
    label: "blues",
    trackId: "blues.00000",
    group: "blues.00000",
  });
  const reason = (name: string) => ds.skipped.find((s) => s.path.endsWith(name))?.reason ?? "";
  assert.match(reason("jazz.00054.wav"), /unreadable WAV/);
  assert.match(reason("pop.00009.wav"), /mislabelled/);
  assert.match(reason("song.wav"), /<genre>\.000NN\.wav/);
  assert.match(reason("blues.00007.wav"), /shorter than 3 s/);
  assert.match(reason("notes.txt"), /not an audio file/);
  // the same through the generic entry point, and from the genres folder itself
  assert.equal((await loadDataset(dir.path)).items.length, 20);
  assert.equal((await loadGtzan(root)).items.length, 20);
});

Deno.test("loadGtzan() refuses a folder with a missing genre, naming it", async () => {
  await using dir = await tempDir("gtzan");
  await writeTone(join(dir.path, "genres_original", "blues", "blues.00000.wav"), { seconds: 4 });
  await rejectsBadDataset(loadGtzan(dir.path), /classical/);
  await rejectsBadDataset(loadGtzan(join(dir.path, "missing")), /not found/);
});

async function writeInstruments(root: string): Promise<void> {
  const train = join(root, "Train_submission", "Train_submission");
  const test = join(root, "Test_submission", "Test_submission");
  const rows = ["FileName,Class"];
  const classes = ["Sound_Guitar", "Sound_Drum", "Sound_Violin", "Sound_Piano"];
  for (const [i, c] of classes.entries()) {
    for (let k = 0; k < 3; k++) {
      const name = `${c}_${k}.wav`;
      await writeTone(join(train, name), { seconds: 10.5, freq: 200 * (i + 1), sampleRate: 8000 });
      rows.push(`${name},${c}`);
    }
  }
  await writeTone(join(train, "short.wav"), { seconds: 6, sampleRate: 8000 });
  rows.push("short.wav,Sound_Piano");
  rows.push("missing.wav,Sound_Drum");
  await writeTone(join(train, "odd.wav"), { seconds: 11, sampleRate: 8000 });
  rows.push("odd.wav,Sound_Flute");
  await writeTone(join(train, "unlisted.wav"), { seconds: 11, sampleRate: 8000 });
  await Deno.writeTextFile(join(root, "Metadata_Train.csv"), rows.join("\n") + "\n");
  await writeTone(join(test, "g.wav"), { seconds: 12, sampleRate: 8000 });
  await Deno.writeTextFile(join(root, "Metadata_Test.csv"), "FileName,Class\ng.wav,Sound_Guiatr\n");
}

Deno.test("loadInstruments() maps the classes (and the test CSV's typo), keeps >= 10 s, crops and caps", async () => {
  await using dir = await tempDir("instr");
  await writeInstruments(dir.path);
  assert.equal(await detectLayout(dir.path), "instruments");
  const ds = await loadInstruments(dir.path, { perClass: 2, seed: 3 });
  assert.deepEqual(ds.classes, ["guitar", "drum", "violin", "piano"]);
  const count = (l: string) => ds.items.filter((it) => it.label === l).length;
  assert.deepEqual(["guitar", "drum", "violin", "piano"].map(count), [2, 2, 2, 2]);
  assert.ok(ds.items.every((it) => it.maxSeconds === 10 && it.minSeconds === 10));
  const reason = (name: string) =>
    ds.skipped.filter((s) => s.path.endsWith(name)).map((s) => s.reason).join();
  assert.match(reason("short.wav"), /shorter than 10 s \(6\.0 s\)/);
  assert.match(reason("missing.wav"), /file not found/);
  assert.match(reason("odd.wav"), /unknown class "Sound_Flute"/);
  assert.match(reason("unlisted.wav"), /not listed in Metadata_Train\.csv/);
  assert.equal(ds.skipped.filter((s) => /class balancing/.test(s.reason)).length, 5); // 4 guitars (3+1) + 3x3 - 8
  // the balanced subset depends on the seed only
  const again = await loadInstruments(dir.path, { perClass: 2, seed: 3 });
  assert.deepEqual(again.items, ds.items);
  // with a large cap, the typo'd test file is a guitar
  const all = await loadInstruments(dir.path);
  assert.ok(all.items.some((it) => it.path.endsWith("g.wav") && it.label === "guitar"));
});

Deno.test("loadInstruments() refuses a missing CSV or columns", async () => {
  await using dir = await tempDir("instr");
  await writeInstruments(dir.path);
  await Deno.writeTextFile(join(dir.path, "Metadata_Test.csv"), "File,Label\ng.wav,Sound_Guitar\n");
  await rejectsBadDataset(loadInstruments(dir.path), /FileName,Class.*Metadata_Test\.csv/);
  await Deno.remove(join(dir.path, "Metadata_Train.csv"));
  await rejectsBadDataset(loadInstruments(dir.path), /Metadata_Train\.csv/);
});

Deno.test("loadMirexMood() reads Audio/ + clusters.txt in file order, and folder-per-cluster", async () => {
  await using dir = await tempDir("mirex");
  const lines: string[] = [];
  for (let k = 1; k <= 25; k++) {
    await writeTone(join(dir.path, "Audio", `${String(k).padStart(3, "0")}.wav`), {
      seconds: 3.2,
      freq: 100 * k,
    });
    lines.push(`Cluster ${((k - 1) % 5) + 1}`);
  }
  await Deno.writeTextFile(join(dir.path, "clusters.txt"), lines.join("\n") + "\n");
  assert.equal(await detectLayout(dir.path), "mirex");
  const ds = await loadMirexMood(dir.path);
  assert.deepEqual(ds.classes, ["cluster1", "cluster2", "cluster3", "cluster4", "cluster5"]);
  assert.equal(ds.items.length, 23); // 010 and 020 are reserved for the outside check
  assert.deepEqual(ds.reserved, ["010", "020"].map((n) => join(dir.path, "Audio", `${n}.wav`)));
  assert.deepEqual(ds.items.slice(0, 2).map((it) => [it.trackId, it.label]), [["001", "cluster1"], [
    "002",
    "cluster2",
  ]]);
  // a list that does not match the files is refused
  await Deno.writeTextFile(join(dir.path, "clusters.txt"), lines.slice(1).join("\n"));
  await rejectsBadDataset(loadMirexMood(dir.path), /24 lines for 25 audio files/);

  await using dir2 = await tempDir("mirex2");
  await writeFolderDataset(
    dir2.path,
    ["Cluster 1", "Cluster 2", "Cluster 3", "Cluster 4", "Cluster 5"],
    3,
    3.5,
  );
  const ds2 = await loadDataset(dir2.path, { layout: "mirex" });
  assert.equal(ds2.items.length, 15); // clip0.wav..clip2.wav: no reserved numbers
  assert.equal(ds2.items[0]!.label, "cluster1");
  assert.equal(normalizeCluster("cluster_3"), "cluster3");
  assert.equal(normalizeCluster("Cluster 6"), undefined);
});

Deno.test("loadFolderDataset() reads <class>/<file>, reports strays, refuses empty classes", async () => {
  await using dir = await tempDir("folder");
  await writeFolderDataset(dir.path, ["low", "high", "noise"], 2, 3.5);
  await Deno.writeTextFile(join(dir.path, "README.txt"), "x");
  await Deno.writeFile(join(dir.path, "low", "empty.wav"), new Uint8Array());
  assert.equal(await detectLayout(dir.path), "folder");
  const ds = await loadFolderDataset(dir.path);
  assert.deepEqual(ds.classes, ["high", "low", "noise"]);
  assert.equal(ds.items.length, 6);
  assert.equal(ds.items[0]!.trackId, "high/clip0.wav");
  assert.deepEqual(ds.skipped.map((s) => s.reason).sort(), [
    "empty file",
    "file outside a class folder (expected <class>/<file>)",
  ]);
  // class filter keeps the given order
  const two = await loadFolderDataset(dir.path, { classes: ["noise", "low"] });
  assert.deepEqual(two.classes, ["noise", "low"]);
  assert.equal(two.items.length, 4);
  await rejectsBadDataset(loadFolderDataset(dir.path, { classes: ["low", "violin"] }), /violin/);
  await Deno.mkdir(join(dir.path, "silent"));
  await rejectsBadDataset(loadFolderDataset(dir.path), /silent/);
  await using lonely = await tempDir("lonely");
  await writeFolderDataset(lonely.path, ["only"], 1, 3.5);
  await rejectsBadDataset(loadFolderDataset(lonely.path), /at least two class folders/);
});
