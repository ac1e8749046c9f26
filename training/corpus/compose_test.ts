import assert from "node:assert/strict";
import { parseMidi } from "midi-file";
import {
  arrangeEmotion,
  arrangeGenre,
  composeDemo,
  composeEmotion,
  composeGenre,
  composeInstrument,
} from "./compose.ts";
import { createRng, hashSeed } from "./prng.ts";
import { DRUM_CHANNEL, type Song, songToMidi } from "./song.ts";
import { EMOTIONS, GENRE_STYLES, GENRES, INSTRUMENT_PROFILES, INSTRUMENTS } from "./styles.ts";
import { isMinorMode } from "./theory.ts";

const SEEDS = Array.from({ length: 24 }, (_, i) => hashSeed("test", i));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const noteVelocities = (s: Song) =>
  s.parts.filter((p) => p.name !== "drums").flatMap((p) => p.notes.map((n) => n.vel));

Deno.test("composeGenre() gives identical MIDI bytes for the same seed and different bytes for another", () => {
  for (const g of GENRES) {
    const a = songToMidi(composeGenre(g, 7, 10));
    const b = songToMidi(composeGenre(g, 7, 10));
    const c = songToMidi(composeGenre(g, 8, 10));
    assert.deepEqual(a, b, g);
    assert.notDeepEqual(a, c, g);
  }
  assert.deepEqual(
    songToMidi(composeEmotion("cluster4", 3, 10)),
    songToMidi(composeEmotion("cluster4", 3, 10)),
  );
  assert.deepEqual(
    songToMidi(composeInstrument("violin", 3, 5)),
    songToMidi(composeInstrument("violin", 3, 5)),
  );
  assert.deepEqual(
    songToMidi(composeDemo("reggae", "cluster2", 3, 5)),
    songToMidi(composeDemo("reggae", "cluster2", 3, 5)),
  );
});

Deno.test("songToMidi() writes a parseable file whose tempo matches the song and notes end by its length", () => {
  const song = composeGenre("rock", 11, 8);
  const midi = parseMidi(songToMidi(song));
  assert.equal(midi.header.format, 1);
  assert.equal(midi.tracks.length, song.parts.length + 1);
  const tempo = midi.tracks[0]!.find((e) => e.type === "setTempo");
  assert.ok(tempo && "microsecondsPerBeat" in tempo);
  assert.equal(tempo.microsecondsPerBeat, Math.round(60_000_000 / song.bpm));
  const endTick = Math.round(8 * song.bpm / 60 * 480);
  for (const track of midi.tracks.slice(1)) {
    let t = 0, ons = 0, offs = 0;
    for (const e of track) {
      t += e.deltaTime;
      if (e.type === "noteOn") ons++;
      if (e.type === "noteOff") offs++;
    }
    assert.equal(t, endTick);
    assert.equal(ons, offs);
  }
});

Deno.test("arrangeGenre() draws tempo, swing and drums within each style's recipe", () => {
  for (const g of GENRES) {
    const s = GENRE_STYLES[g];
    for (const seed of SEEDS) {
      const a = arrangeGenre(g, createRng(seed));
      assert.ok(a.bpm >= s.bpm[0] && a.bpm <= s.bpm[1], `${g} bpm ${a.bpm}`);
      assert.ok(a.swing >= s.swing[0] && a.swing <= s.swing[1]);
      assert.ok(s.modes.includes(a.mode));
      if (a.drums) assert.ok(s.drums.includes(a.drums.pattern));
    }
  }
  // Classical never has drums; metal always does, with a distortion guitar or the like.
  assert.ok(SEEDS.every((seed) => arrangeGenre("classical", createRng(seed)).drums === null));
  assert.ok(SEEDS.every((seed) => arrangeGenre("metal", createRng(seed)).drums !== null));
  const bpm = (g: typeof GENRES[number]) => mean(SEEDS.map((seed) => arrangeGenre(g, createRng(seed)).bpm));
  assert.ok(bpm("metal") > bpm("rock") && bpm("rock") > bpm("hiphop") && bpm("hiphop") > bpm("reggae") - 10);
  const swing = (g: typeof GENRES[number]) =>
    mean(SEEDS.map((seed) => arrangeGenre(g, createRng(seed)).swing));
  assert.ok(swing("jazz") > 0.2 && swing("rock") < 0.05 && swing("hiphop") > 0.1);
});

Deno.test("arrangeEmotion() separates the clusters by mode, tempo and dynamics", () => {
  const arr = (e: typeof EMOTIONS[number]) => SEEDS.map((seed) => arrangeEmotion(e, createRng(seed)));
  assert.ok(arr("cluster3").every((a) => isMinorMode(a.mode)), "cluster3 is minor");
  assert.ok(arr("cluster5").every((a) => isMinorMode(a.mode)), "cluster5 is minor");
  assert.ok(arr("cluster2").every((a) => !isMinorMode(a.mode)), "cluster2 is major");
  assert.ok(arr("cluster1").every((a) => !isMinorMode(a.mode)), "cluster1 is major");
  const bpm = (e: typeof EMOTIONS[number]) => mean(arr(e).map((a) => a.bpm));
  assert.ok(bpm("cluster5") > bpm("cluster1") && bpm("cluster1") > bpm("cluster3"));
  const vel = (e: typeof EMOTIONS[number]) =>
    mean(SEEDS.slice(0, 8).flatMap((seed) => noteVelocities(composeEmotion(e, seed, 10))));
  assert.ok(vel("cluster5") > vel("cluster2") + 15 && vel("cluster2") > vel("cluster3") + 10);
  const art = (e: typeof EMOTIONS[number]) => mean(arr(e).map((a) => a.articulation[1]));
  assert.ok(art("cluster3") > art("cluster4"), "wistful is legato, whimsical staccato");
});

Deno.test("composeInstrument() plays only the solo instrument", () => {
  for (const inst of INSTRUMENTS) {
    for (const seed of SEEDS.slice(0, 10)) {
      const song = composeInstrument(inst, seed, 12);
      assert.ok(song.parts.length >= 1, inst);
      assert.ok(song.parts.some((p) => p.notes.length > 0), `${inst} has notes`);
      const programs = new Set(song.parts.map((p) => p.program));
      assert.equal(programs.size, 1, `${inst} uses one program`);
      assert.ok(INSTRUMENT_PROFILES[inst].programs.includes([...programs][0]!));
      const drums = song.parts.every((p) => p.channel === DRUM_CHANNEL);
      assert.equal(drums, inst === "drum", inst);
    }
  }
});

Deno.test("composeGenre() fills the whole clip with notes", () => {
  for (const g of GENRES) {
    const song = composeGenre(g, 5, 30);
    const end = 30 * song.bpm / 60 * 480;
    const last = Math.max(...song.parts.flatMap((p) => p.notes.map((n) => n.tick)));
    assert.ok(last > end * 0.85, `${g}: last note at ${last} of ${end}`);
  }
});
