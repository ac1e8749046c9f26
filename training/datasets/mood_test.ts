import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError } from "../../core/errors.ts";
import { loadMirexMood } from "./mirex.ts";
import { artistKey, decodeText, isReservedMoodClip, parseMoodInfo } from "./mood_info.ts";
import { fetchMoodDataset, PROVENANCE_FILE, readMoodProvenance } from "./mood_fetch.ts";
import { requireClassSizes } from "./_util.ts";
import { tempDir, writeTone } from "./_fake_audio.ts";
import { gitRun, hasGit } from "./_git_fixture.ts";
import { splitByGroup } from "../split.ts";

const rejectsBadDataset = (p: Promise<unknown>, text: RegExp) =>
  assert.rejects(p, (err) => {
    assert.ok(isSoundalikeError(err, "bad_dataset"), String(err));
    assert.match(err.message, text);
    return true;
  });

/** UTF-16 LE with a byte-order mark, as the published `dataset info.csv`. */
function utf16(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    out[2 + 2 * i] = text.charCodeAt(i) & 0xff;
    out[3 + 2 * i] = text.charCodeAt(i) >> 8;
  }
  return out;
}

const HEADER = "Title;Artist;Album;Track;Year;Length;Size;Last Modified;Filename;";

/**
 * A published-layout mood set of `n` short WAV clips: clusters round-robin, artists "Artist <k mod
 * 12>" (so artists repeat across clusters and share with reserved clips), one title holding `;`.
 */
async function writeMoodSet(root: string, n: number): Promise<{ clusters: string[]; rows: string[] }> {
  const clusters: string[] = [];
  const rows: string[] = [HEADER];
  for (let k = 1; k <= n; k++) {
    const name = `${String(k).padStart(3, "0")}.wav`;
    await writeTone(join(root, "Audio", name), { seconds: 3.2, freq: 90 * k, sampleRate: 8000 });
    clusters.push(`Cluster ${((k - 1) % 5) + 1}`);
    const title = k === 7 ? "World's a Mess; It's in My Kiss" : `Song ${k}`;
    rows.push(`${title};Artist ${k % 12};Album;1;2000;30;352,00 KB;09-09-2010;${name};`);
  }
  await Deno.writeTextFile(join(root, "clusters.txt"), clusters.join("\n") + "\n");
  await Deno.writeFile(join(root, "dataset info.csv"), utf16(rows.join("\r\n") + "\r\n"));
  await Deno.writeTextFile(join(root, "categories.txt"), clusters.map(() => "Fun").join("\n"));
  return { clusters, rows };
}

Deno.test("parseMoodInfo() reads UTF-16 rows and gives a surplus separator back to the title", () => {
  const text = `${HEADER}\r\nA;X;Al;1;1;30;1 KB;d;001.mp3;\r\nB; c;Y;Al;2;1;30;1 KB;d;002.mp3;\r\n`;
  const rows = parseMoodInfo(utf16(text));
  assert.deepEqual(rows.map((r) => [r.row, r.title, r.artist, r.file]), [
    [1, "A", "X", "001.mp3"],
    [2, "B; c", "Y", "002.mp3"],
  ]);
  assert.equal(decodeText(new TextEncoder().encode("\ufeffabc")), "abc");
  assert.throws(() => parseMoodInfo(utf16("Name;Who\nA;B\n")), /Title, Artist and Filename/);
  assert.throws(() => parseMoodInfo(utf16(`${HEADER}\nA;B;001.mp3\n`)), /row 1 has 3 fields/);
});

Deno.test("artistKey() equates spellings of one artist; isReservedMoodClip() picks every tenth file", () => {
  assert.equal(artistKey("Jones, George [1]"), artistKey("George Jones"));
  assert.equal(artistKey("The Coasters"), artistKey("coasters"));
  assert.notEqual(artistKey("Queen"), artistKey("Queens of the Stone Age"));
  assert.equal(artistKey("  "), undefined);
  const reserved = Array.from({ length: 903 }, (_, i) => `${String(i + 1).padStart(3, "0")}.mp3`)
    .filter(isReservedMoodClip);
  assert.equal(reserved.length, 90);
  assert.deepEqual([reserved[0], reserved[89]], ["010.mp3", "900.mp3"]);
  assert.ok(!isReservedMoodClip("categories.txt") && !isReservedMoodClip("000.mp3"));
});

Deno.test("loadMirexMood() keeps reserved clips out, groups by artist and pins reserved artists to test", async () => {
  await using dir = await tempDir("mood");
  await writeMoodSet(dir.path, 40);
  const ds = await loadMirexMood(dir.path);
  assert.deepEqual(ds.reserved!.map((p) => p.slice(-7)), ["010.wav", "020.wav", "030.wav", "040.wav"]);
  assert.equal(ds.items.length, 36);
  assert.ok(ds.items.every((it) => !isReservedMoodClip(it.path)));
  assert.equal(ds.skipped.length, 0);
  const it7 = ds.items.find((it) => it.trackId === "007")!;
  assert.equal(it7.artist, "Artist 7");
  assert.equal(it7.group, "artist:artist 7");
  // 022 is by Artist 10 like reserved 010: pinned to test; 013 (Artist 1) is not
  assert.equal(ds.items.find((it) => it.trackId === "022")!.pinnedSplit, "test");
  assert.equal(ds.items.find((it) => it.trackId === "013")!.pinnedSplit, undefined);
  // the split never separates an artist and keeps the pinned ones in test
  const s = splitByGroup(ds.items, 1);
  const artistsOf = (xs: typeof ds.items) => new Set(xs.map((x) => x.group));
  const test = artistsOf(s.test);
  for (const g of artistsOf(s.train)) assert.ok(!test.has(g) && !artistsOf(s.validation).has(g), g);
  assert.ok(s.test.some((x) => x.trackId === "022"));
  assert.ok(ds.items.every((it) => it.minSeconds === 20));
});

Deno.test("loadMirexMood() skips and counts missing and unlisted files, refuses mismatched lists", async () => {
  await using dir = await tempDir("mood");
  const { clusters, rows } = await writeMoodSet(dir.path, 40);
  await Deno.remove(join(dir.path, "Audio", "012.wav"));
  await writeTone(join(dir.path, "Audio", "041.wav"), { seconds: 3.2, sampleRate: 8000 });
  const ds = await loadMirexMood(dir.path);
  assert.deepEqual(ds.skipped.map((s) => [s.path.slice(-7), s.reason]), [
    ["012.wav", "named by dataset info.csv row 12 but missing from Audio/"],
    ["041.wav", "not described by dataset info.csv"],
  ]);
  assert.equal(ds.items.length, 35);
  // 013's label still comes from line 13: the lists are matched by name, not by position
  assert.equal(ds.items.find((it) => it.trackId === "013")!.label, "cluster3");

  await Deno.writeTextFile(join(dir.path, "clusters.txt"), clusters.slice(1).join("\n"));
  await rejectsBadDataset(
    loadMirexMood(dir.path),
    /clusters\.txt has 39 lines but dataset info\.csv describes 40 clips/,
  );
  await Deno.writeTextFile(join(dir.path, "clusters.txt"), clusters.join("\n"));
  const swapped = [rows[0]!, rows[2]!, rows[1]!, ...rows.slice(3)];
  await Deno.writeFile(join(dir.path, "dataset info.csv"), utf16(swapped.join("\n")));
  await rejectsBadDataset(
    loadMirexMood(dir.path),
    /not in file order \(row 2 names 001\.wav after 002\.wav\)/,
  );
});

Deno.test("loadMirexMood() refuses a cluster shrunk below three usable clips, naming it", async () => {
  await using dir = await tempDir("mood");
  await writeMoodSet(dir.path, 25);
  // cluster2: 002, 007, 012, 017, 022; remove three of them
  for (const n of ["002", "007", "012"]) {
    await Deno.writeFile(join(dir.path, "Audio", `${n}.wav`), new Uint8Array());
  }
  await rejectsBadDataset(loadMirexMood(dir.path), /Too few usable clips in cluster2 \(2\).*3 files skipped/);
  assert.throws(
    () => requireClassSizes([{ label: "a" }, { label: "a" }, { label: "a" }], ["a", "b"], 3),
    /Too few usable clips in b \(0\)/,
  );
});

Deno.test("fetchMoodDataset() extracts one commit, cross-checks it and writes provenance", async (t) => {
  if (!(await hasGit())) {
    console.log("skipped: git is not installed");
    return;
  }
  await using dir = await tempDir("moodrepo");
  const repo = join(dir.path, "repo");
  await writeMoodSet(join(repo, "dataset"), 25);
  await Deno.writeTextFile(join(repo, "README.md"), "not part of the set");
  await gitRun(dir.path, "init", "-q", repo);
  await gitRun(repo, "add", "-A");
  await gitRun(repo, "commit", "-q", "-m", "set");
  const commit = await gitRun(repo, "rev-parse", "HEAD");
  const bare = join(dir.path, "mirror.git");
  await gitRun(dir.path, "clone", "-q", "--bare", repo, bare);
  const out = join(dir.path, "out");

  await t.step("extracts from a bare mirror", async () => {
    const r = await fetchMoodDataset({ from: bare, out, commit, repository: "someone/mood" });
    assert.equal(r.extracted, true);
    assert.equal(r.provenance.commit, commit);
    assert.deepEqual(r.provenance.counts, {
      audio: 25,
      clusters: { cluster1: 5, cluster2: 5, cluster3: 5, cluster4: 5, cluster5: 5 },
      reserved: 2,
      usable: 23,
    });
    assert.equal(r.provenance.files.length, 28);
    const f = r.provenance.files.find((x) => x.path === "Audio/001.wav")!;
    const bytes = await Deno.readFile(join(out, "Audio", "001.wav"));
    assert.equal(f.bytes, bytes.byteLength);
    const sha = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(f.sha256, sha);
    assert.equal((await readMoodProvenance(out))?.repository, "someone/mood");
    await assert.rejects(Deno.stat(join(out, "README.md")), Deno.errors.NotFound);
  });

  await t.step("a verified extraction is kept; a damaged one is redone", async () => {
    assert.equal((await fetchMoodDataset({ from: repo, out, commit })).extracted, false);
    await Deno.writeFile(join(out, "Audio", "003.wav"), new Uint8Array([1, 2, 3]));
    assert.equal((await fetchMoodDataset({ from: repo, out, commit })).extracted, true);
  });

  await t.step("counts that differ from the expected ones are refused; no provenance is left", async () => {
    const out2 = join(dir.path, "out2");
    await rejectsBadDataset(
      fetchMoodDataset({ from: bare, out: out2, commit, expectedCounts: [170, 164, 215, 191, 163] }),
      /counts 5\/5\/5\/5\/5 clips per cluster, the published set has 170\/164\/215\/191\/163/,
    );
    await assert.rejects(Deno.stat(join(out2, PROVENANCE_FILE)), Deno.errors.NotFound);
  });

  await t.step("an unknown commit or a folder that is no repository is named", async () => {
    await rejectsBadDataset(
      fetchMoodDataset({ from: bare, out, commit: "0123456789abcdef0123456789abcdef01234567" }),
      /does not hold commit 0123456789ab/,
    );
    await rejectsBadDataset(
      fetchMoodDataset({ from: out, out: join(dir.path, "x"), commit }),
      /Not a git repository/,
    );
  });
});
