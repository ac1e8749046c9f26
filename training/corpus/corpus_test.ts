import assert from "node:assert/strict";
import { parseCsv } from "../../core/mod.ts";
import { createMemoryLogger } from "../../core/logger.ts";
import { buildCorpus, type CorpusDeps, type CorpusOptions, planCorpus } from "./corpus.ts";
import { parseWav, type PcmAudio } from "./wav.ts";

/** A renderer that returns a 1 s tone at the asked rate and counts its calls. */
function fakeDeps() {
  const calls = { render: 0, mp3: 0 };
  const { logger, records } = createMemoryLogger();
  const deps: CorpusDeps = {
    logger,
    render: (_midi, opts) => {
      calls.render++;
      const sr = opts.sampleRate ?? 22050;
      const tone = Float32Array.from({ length: sr }, (_, i) => 0.5 * Math.sin(2 * Math.PI * 220 * i / sr));
      return Promise.resolve({ sampleRate: sr, channels: [tone, tone] } satisfies PcmAudio);
    },
    encodeMp3: async (_audio, path) => {
      calls.mp3++;
      await Deno.writeFile(path, new Uint8Array([0xff, 0xfb, 0x90, 0x00]));
    },
  };
  return { deps, calls, records };
}

function options(out: string): CorpusOptions {
  return {
    out,
    seed: 1,
    perClass: { genre: 1, emotion: 1, instrument: 2 },
    demoTracks: 3,
    seconds: { genre: 3, emotion: 3, instrument: 2, demo: 3 },
    sampleRate: 8000,
    jobs: 2,
    only: ["genre", "emotion", "instrument", "demo"],
    soundfont: "/fake/gm.sf2",
  };
}

Deno.test("planCorpus() lays out folder-per-class paths with stable seeds and keys", () => {
  const opts = options("/x");
  const jobs = planCorpus(opts, "sf");
  assert.equal(jobs.length, 10 + 5 + 8 + 3);
  assert.ok(jobs.some((j) => j.path === "genre/jazz/jazz.00000.wav"));
  assert.ok(jobs.some((j) => j.path === "instrument/violin/violin.00001.wav"));
  assert.ok(jobs.some((j) => j.path === "fma_demo/fma_small/900/900003.mp3"));
  assert.deepEqual(planCorpus(opts, "sf"), jobs);
  const other = planCorpus({ ...opts, seed: 2 }, "sf");
  assert.notEqual(other[0]!.seed, jobs[0]!.seed);
  assert.notEqual(other[0]!.key, jobs[0]!.key);
  assert.notEqual(planCorpus({ ...opts, sampleRate: 16000 }, "sf")[0]!.key, jobs[0]!.key);
  assert.equal(new Set(jobs.map((j) => j.path)).size, jobs.length);
});

Deno.test("buildCorpus() writes clips of the asked length, labels and metadata, and reruns from cache", async () => {
  const out = await Deno.makeTempDir();
  try {
    const first = fakeDeps();
    const summary = await buildCorpus(options(out), first.deps);
    assert.equal(first.calls.render, 26);
    assert.equal(first.calls.mp3, 3);
    assert.equal(summary.rendered, 26);
    const wav = parseWav(await Deno.readFile(`${out}/genre/blues/blues.00000.wav`));
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.channels.length, 1);
    assert.equal(wav.channels[0]!.length, 3 * 8000);
    assert.equal(
      parseWav(await Deno.readFile(`${out}/instrument/drum/drum.00001.wav`)).channels[0]!.length,
      2 * 8000,
    );
    const labels: string[][] = parseCsv(await Deno.readTextFile(`${out}/labels/genre.csv`));
    assert.equal(labels.length, 1 + 10);
    assert.deepEqual(labels[1]!.slice(0, 2), ["genre/blues/blues.00000.wav", "blues"]);
    const demoLabels: string[][] = parseCsv(await Deno.readTextFile(`${out}/labels/demo.csv`));
    assert.match(demoLabels[1]![2]!, /^cluster[1-5]$/);
    const corpus = JSON.parse(await Deno.readTextFile(`${out}/corpus.json`));
    assert.equal(corpus.seed, 1);
    assert.equal(corpus.counts.genre.jazz, 1);
    assert.equal(corpus.counts.instrument.piano, 2);
    const tracks: string[][] = parseCsv(await Deno.readTextFile(`${out}/fma_demo/fma_metadata/tracks.csv`));
    assert.equal(tracks.length, 3 + 3);

    const second = fakeDeps();
    const again = await buildCorpus(options(out), second.deps);
    assert.equal(second.calls.render, 0, "a rerun renders nothing");
    assert.equal(again.cached, 26);

    // A deleted clip is rendered again; a different seed invalidates everything.
    await Deno.remove(`${out}/emotion/cluster2/cluster2.00000.wav`);
    const third = fakeDeps();
    await buildCorpus(options(out), third.deps);
    assert.equal(third.calls.render, 1);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("buildCorpus() removes clips of an earlier, larger run and keeps the rest", async () => {
  const out = await Deno.makeTempDir();
  try {
    const big = { ...options(out), perClass: { genre: 2, emotion: 0, instrument: 0 }, demoTracks: 0 };
    await buildCorpus(big, fakeDeps().deps);
    const small = { ...big, perClass: { genre: 1, emotion: 0, instrument: 0 } };
    const run = fakeDeps();
    await buildCorpus(small, run.deps);
    assert.equal(run.calls.render, 0);
    await assert.rejects(Deno.stat(`${out}/genre/jazz/jazz.00001.wav`));
    assert.ok((await Deno.stat(`${out}/genre/jazz/jazz.00000.wav`)).isFile);
    assert.ok(run.records.some((r) => r.msg.startsWith("Removed clips")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("buildCorpus() with only some parts builds just those and leaves the others alone", async () => {
  const out = await Deno.makeTempDir();
  try {
    const run = fakeDeps();
    const summary = await buildCorpus({ ...options(out), only: ["instrument"] }, run.deps);
    assert.equal(run.calls.render, 8);
    assert.deepEqual(Object.keys(summary.counts.genre), []);
    await assert.rejects(Deno.stat(`${out}/genre`));
    await assert.rejects(Deno.stat(`${out}/fma_demo`));
    const next = fakeDeps();
    await buildCorpus({ ...options(out), only: ["genre"] }, next.deps);
    assert.equal(next.calls.render, 10);
    assert.ok(
      (await Deno.stat(`${out}/instrument/piano/piano.00001.wav`)).isFile,
      "other parts are not pruned",
    );
    const corpus = JSON.parse(await Deno.readTextFile(`${out}/corpus.json`));
    assert.deepEqual(corpus.parts, ["genre", "instrument"]);
    assert.equal(corpus.counts.instrument.piano, 2);
    assert.equal(corpus.counts.genre.rock, 1);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
