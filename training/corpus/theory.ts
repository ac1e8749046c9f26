/**
 * Just enough music theory for the composer: modes, chord symbols written as Roman numerals relative
 * to the key, and pitch helpers.
 * @module
 */

/** Scales as semitone offsets from the tonic. */
export const MODES = {
  major: [0, 2, 4, 5, 7, 9, 11],
  minor: [0, 2, 3, 5, 7, 8, 10],
  dorian: [0, 2, 3, 5, 7, 9, 10],
  mixolydian: [0, 2, 4, 5, 7, 9, 10],
  phrygian: [0, 1, 3, 5, 7, 8, 10],
  harmonicMinor: [0, 2, 3, 5, 7, 8, 11],
  majorPentatonic: [0, 2, 4, 7, 9],
  minorPentatonic: [0, 3, 5, 7, 10],
  blues: [0, 3, 5, 6, 7, 10],
  lydian: [0, 2, 4, 6, 7, 9, 11],
} as const satisfies Record<string, readonly number[]>;

/** A mode's name. */
export type ModeName = keyof typeof MODES;

/** Whether a mode has a minor third, which is what listeners hear as "minor". */
export function isMinorMode(mode: ModeName): boolean {
  return (MODES[mode] as readonly number[]).includes(3) && !(MODES[mode] as readonly number[]).includes(4);
}

/** A chord: its root as semitones above the key's tonic and its intervals above that root. */
export interface Chord {
  root: number;
  intervals: readonly number[];
}

const NUMERALS: Record<string, number> = { I: 0, II: 2, III: 4, IV: 5, V: 7, VI: 9, VII: 11 };

/**
 * Parses one Roman-numeral chord symbol relative to the key: upper case is major, lower case minor,
 * `b`/`#` prefixes shift the root, suffixes `7` (dominant for upper case, minor seventh for lower
 * case), `maj7`, `5` (power chord), `o` (diminished), `sus` (suspended fourth), `9` (add ninth).
 *
 * @param symbol For example `"I"`, `"vi"`, `"bVII"`, `"V7"`, `"ii7"`, `"Imaj7"`, `"i5"`.
 * @returns The chord.
 * @example
 * ```ts
 * import { parseChord } from "./theory.ts";
 * console.assert(parseChord("bVII").root === 10);
 * ```
 */
export function parseChord(symbol: string): Chord {
  const m = /^([b#]?)([ivIV]+)(.*)$/.exec(symbol);
  if (!m) throw new RangeError(`Bad chord symbol: ${symbol}`);
  const [, accidental = "", numeral = "", suffix = ""] = m;
  const base = NUMERALS[numeral.toUpperCase()];
  if (base === undefined) throw new RangeError(`Bad chord numeral: ${symbol}`);
  const root = (base + (accidental === "b" ? -1 : accidental === "#" ? 1 : 0) + 12) % 12;
  const minor = numeral === numeral.toLowerCase();
  let intervals: number[];
  if (suffix === "5") intervals = [0, 7, 12];
  else if (suffix === "o") intervals = [0, 3, 6];
  else if (suffix === "o7") intervals = [0, 3, 6, 9];
  else if (suffix === "sus") intervals = [0, 5, 7];
  else {
    intervals = minor ? [0, 3, 7] : [0, 4, 7];
    if (suffix === "7") intervals.push(10);
    else if (suffix === "maj7") intervals.push(11);
    else if (suffix === "9") intervals.push(minor ? 10 : 10, 14);
    else if (suffix === "6") intervals.push(9);
    else if (suffix !== "") throw new RangeError(`Bad chord suffix: ${symbol}`);
  }
  return { root, intervals };
}

/**
 * Parses a progression: bars separated by spaces, chords within a bar by `/` (sharing the bar equally).
 *
 * @param text For example `"ii7/V7 Imaj7 vi7"`.
 * @returns One array of chords per bar.
 */
export function parseProgression(text: string): Chord[][] {
  return text.trim().split(/\s+/).map((bar) => bar.split("/").map(parseChord));
}

/**
 * The scale pitch nearest to `target` (ties go down), for a key tonic (0-11) and mode.
 *
 * @param target A MIDI pitch.
 * @param tonic The key's pitch class.
 * @param mode The scale.
 * @returns A MIDI pitch in the scale.
 */
export function nearestScalePitch(target: number, tonic: number, mode: ModeName): number {
  const scale = MODES[mode] as readonly number[];
  for (let d = 0; d < 12; d++) {
    for (const p of [target - d, target + d]) {
      if (scale.includes((((p - tonic) % 12) + 12) % 12)) return p;
    }
  }
  return target;
}

/**
 * Moves `pitch` by `steps` scale steps (negative goes down) within a key and mode.
 *
 * @returns The new MIDI pitch.
 */
export function stepInScale(pitch: number, steps: number, tonic: number, mode: ModeName): number {
  const scale = MODES[mode] as readonly number[];
  let p = nearestScalePitch(pitch, tonic, mode);
  const dir = Math.sign(steps);
  for (let i = 0; i < Math.abs(steps); i++) {
    do p += dir; while (!scale.includes((((p - tonic) % 12) + 12) % 12));
  }
  return p;
}

/** Chord pitches in a voicing placed near `center`: root position or an inversion that keeps it close. */
export function voiceChord(chord: Chord, tonic: number, center: number, inversion: number): number[] {
  const rootPc = (tonic + chord.root) % 12;
  let root = center - ((((center - rootPc) % 12) + 12) % 12);
  if (center - root > 6) root += 12;
  const pitches = chord.intervals.map((i) => root + i);
  for (let k = 0; k < inversion % pitches.length; k++) {
    const low = pitches.shift();
    if (low !== undefined) pitches.push(low + 12);
  }
  return pitches;
}

/** The lowest pitch of a chord's root within [lo, lo + 11]. */
export function rootInRange(chord: Chord, tonic: number, lo: number): number {
  const pc = (tonic + chord.root) % 12;
  return lo + ((((pc - lo) % 12) + 12) % 12);
}
