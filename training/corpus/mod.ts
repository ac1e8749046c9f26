/**
 * The synthetic corpus generator: procedurally composed MIDI, rendered with fluidsynth, labelled for
 * genre (10 GTZAN styles), emotion (5 MIREX clusters) and instrument (4 solo instruments), plus an
 * FMA-shaped demo catalog.
 * @module
 */
export * from "./corpus.ts";
export * from "./compose.ts";
export * from "./fma.ts";
export * from "./styles.ts";
export { createRng, hashSeed, type Rng } from "./prng.ts";
export { type Note, type Part, type Song, songToMidi } from "./song.ts";
export {
  encodeMp3,
  findSoundfont,
  fluidsynthAvailable,
  renderMidi,
  type RenderOptions,
} from "./fluidsynth.ts";
export { encodeWav16, parseWav, type PcmAudio } from "./wav.ts";
