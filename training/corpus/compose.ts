/**
 * Procedural composition: a seed and a class become a {@linkcode Song}. Every clip draws its key,
 * tempo, groove, voicings, instrumentation, velocities and mix from the class's recipe, so a model
 * has to learn the style rather than one fixed cue.
 * @module
 */
import { createRng, type Rng } from "./prng.ts";
import { DRUM_CHANNEL, type Note, type Part, type Song, TICKS_PER_BEAT } from "./song.ts";
import {
  type BassStyle,
  type CompStyle,
  type DrumPattern,
  type Emotion,
  type Genre,
  GENRE_STYLES,
  type GenreStyle,
  type Instrument,
  INSTRUMENT_PROFILES,
  MOOD_PROFILES,
} from "./styles.ts";
import {
  type Chord,
  type ModeName,
  MODES,
  nearestScalePitch,
  parseProgression,
  rootInRange,
  stepInScale,
  voiceChord,
} from "./theory.ts";

/** Everything drawn for one clip before notes are written; exposed so tests can check the recipe. */
export interface Arrangement {
  bpm: number;
  beatsPerBar: number;
  /** Off-beat delay as a fraction of the swung subdivision. */
  swing: number;
  swingUnit: 8 | 16;
  tonic: number;
  mode: ModeName;
  progression: Chord[][];
  drums: { pattern: DrumPattern; kit: number } | null;
  bass: { style: BassStyle; program: number } | null;
  comp: { style: CompStyle; program: number; center: number } | null;
  pad: { program: number } | null;
  lead:
    | { program: number; register: [number, number]; density: number; chromatic: number; leap: number }
    | null;
  velocity: [number, number];
  articulation: [number, number];
}

const BEAT = TICKS_PER_BEAT;

const rangeOf = (rng: Rng, r: readonly [number, number]): number => rng.range(r[0], r[1]);
const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/**
 * Draws a genre clip's arrangement from its style.
 *
 * @param genre The genre class.
 * @param rng The clip's random source.
 * @returns The arrangement.
 */
export function arrangeGenre(genre: Genre, rng: Rng): Arrangement {
  const s = GENRE_STYLES[genre];
  return arrangeFromStyle(s, rng, {});
}

interface StyleOverrides {
  modes?: readonly ModeName[];
  progressions?: readonly string[];
  bpm?: readonly [number, number];
  velocity?: readonly [number, number];
  articulation?: readonly [number, number];
  register?: number;
  density?: number;
  noDrums?: number;
  leadPrograms?: readonly number[];
  compPrograms?: readonly number[];
  bassStyles?: readonly BassStyle[];
  compStyles?: readonly CompStyle[];
  chromatic?: number;
  leap?: number;
  /** Probability a lead exists. */
  lead?: number;
}

function arrangeFromStyle(s: GenreStyle, rng: Rng, o: StyleOverrides): Arrangement {
  const beatsPerBar = s.beatsPerBar;
  const bpm = Math.round(rangeOf(rng, o.bpm ?? s.bpm));
  const mode = rng.pick(o.modes ?? s.modes);
  const minorish = (MODES[mode] as readonly number[]).includes(3);
  // Keep progressions whose tonic chord agrees with the mode, when the list has any.
  const progs = o.progressions ?? s.progressions;
  const fitting = progs.filter((p) => /^[b#]?[iI]/.test(p) ? (p[0] === "i") === minorish : true);
  const progression = parseProgression(rng.pick(fitting.length > 0 ? fitting : progs));
  const register = o.register ?? 0;
  const hasDrums = s.drums.length > 0 && !rng.chance(o.noDrums ?? s.noDrums);
  return {
    bpm,
    beatsPerBar,
    swing: rangeOf(rng, s.swing),
    swingUnit: s.swingUnit,
    tonic: rng.int(0, 11),
    mode,
    progression,
    drums: hasDrums ? { pattern: rng.pick(s.drums), kit: rng.pick(s.kits) } : null,
    bass: rng.chance(0.95)
      ? { style: rng.pick(o.bassStyles ?? s.bass), program: rng.pick(s.programs.bass) }
      : null,
    comp: {
      style: rng.pick(o.compStyles ?? s.comp),
      program: rng.pick(o.compPrograms ?? s.programs.comp),
      center: Math.round(rng.range(55, 67) + register),
    },
    pad: s.programs.pad.length > 0 && rng.chance(s.pad) ? { program: rng.pick(s.programs.pad) } : null,
    lead: rng.chance(o.lead ?? s.lead)
      ? {
        program: rng.pick(o.leadPrograms ?? s.programs.lead),
        register: [s.leadRegister[0] + register, s.leadRegister[1] + register],
        density: rangeOf(rng, s.leadDensity) * (o.density ?? 1),
        chromatic: o.chromatic ?? 0,
        leap: o.leap ?? 3,
      }
      : null,
    velocity: [...(o.velocity ?? s.velocity)] as [number, number],
    articulation: [...(o.articulation ?? s.articulation)] as [number, number],
  };
}

/**
 * Draws a mood clip's arrangement: the groove of a genre the mood borrows from, bent by the mood's
 * mode, tempo, dynamics, register, articulation and instrumentation.
 *
 * @param emotion The mood cluster.
 * @param rng The clip's random source.
 * @returns The arrangement.
 */
export function arrangeEmotion(emotion: Emotion, rng: Rng): Arrangement {
  const m = MOOD_PROFILES[emotion];
  const base = GENRE_STYLES[rng.pick(m.baseGenres)];
  const a = arrangeFromStyle(base, rng, {
    modes: m.modes,
    progressions: m.progressions,
    bpm: m.bpm,
    velocity: m.velocity,
    articulation: m.articulation,
    register: Math.round(rangeOf(rng, m.register)),
    density: rangeOf(rng, m.density),
    noDrums: m.noDrums,
    leadPrograms: rng.chance(0.8) ? m.lead : base.programs.lead,
    compPrograms: rng.chance(0.7) ? m.comp : base.programs.comp,
    bassStyles: rng.chance(0.7) ? m.bass : base.bass,
    compStyles: rng.chance(0.7) ? m.compStyles : base.comp,
    chromatic: m.chromatic,
    leap: m.leap,
    lead: 0.9,
  });
  return a;
}

/**
 * Draws a demo track's arrangement: a genre's groove and instruments with a mood's mode, dynamics,
 * articulation and tempo tendency, so a catalog has both genre and mood structure.
 *
 * @param genre The genre.
 * @param emotion The mood.
 * @param rng The track's random source.
 * @returns The arrangement.
 */
export function arrangeDemo(genre: Genre, emotion: Emotion, rng: Rng): Arrangement {
  const s = GENRE_STYLES[genre];
  const m = MOOD_PROFILES[emotion];
  const energy = { cluster1: 0.7, cluster2: 0.6, cluster3: 0.1, cluster4: 0.6, cluster5: 0.95 }[emotion];
  const mid = s.bpm[0] + (s.bpm[1] - s.bpm[0]) * energy;
  const span = (s.bpm[1] - s.bpm[0]) * 0.2;
  return arrangeFromStyle(s, rng, {
    modes: rng.chance(0.75) ? m.modes : s.modes,
    bpm: [mid - span, mid + span],
    velocity: m.velocity,
    articulation: m.articulation,
    register: Math.round(rangeOf(rng, m.register) / 2),
    density: rangeOf(rng, m.density),
    chromatic: m.chromatic,
    leap: m.leap,
  });
}

/** Builds notes for an arrangement over `seconds`; the result is cut to `seconds` by the MIDI writer. */
export function realize(a: Arrangement, seconds: number, rng: Rng): Song {
  const barTicks = a.beatsPerBar * BEAT;
  const bars = Math.ceil(seconds * a.bpm / 60 / a.beatsPerBar) + 1;
  const sub = a.swingUnit === 8 ? BEAT / 2 : BEAT / 4;
  const swing = (
    tick: number,
  ): number => (Math.round(tick) % (2 * sub) === sub ? tick + a.swing * sub : tick);
  const chordAt = (bar: number): Chord[] => a.progression[bar % a.progression.length] ?? [];
  const vel = (accent: number): number =>
    clamp(Math.round(rng.range(a.velocity[0], a.velocity[1]) * accent + rng.range(-6, 6)), 1, 127);
  const art = (): number => rng.range(a.articulation[0], a.articulation[1]);
  const human = (t: number): number => swing(t) + rng.range(-8, 8);
  const parts: Part[] = [];
  const channels = [0, 1, 2, 3, 4];
  const pan = (): number => rng.int(34, 94);

  if (a.drums) {
    parts.push({
      name: "drums",
      channel: DRUM_CHANNEL,
      program: a.drums.kit,
      volume: rng.int(85, 115),
      pan: 64,
      reverb: rng.int(10, 50),
      notes: drumNotes(a.drums.pattern, bars, barTicks, rng, swing, a.velocity),
    });
  }
  if (a.bass) {
    const lo = rng.int(28, 36);
    parts.push({
      name: "bass",
      channel: channels[0] ?? 0,
      program: a.bass.program,
      volume: rng.int(85, 115),
      pan: rng.int(54, 74),
      reverb: rng.int(0, 25),
      notes: bassNotes(a, a.bass.style, bars, barTicks, lo, chordAt, vel, art, human, rng),
    });
  }
  if (a.comp) {
    parts.push({
      name: "comp",
      channel: channels[1] ?? 1,
      program: a.comp.program,
      volume: rng.int(65, 105),
      pan: pan(),
      reverb: rng.int(15, 70),
      notes: compNotes(a, a.comp.style, a.comp.center, bars, barTicks, chordAt, vel, art, human, rng),
    });
  }
  if (a.pad) {
    const notes: Note[] = [];
    const center = rng.int(56, 68);
    for (let b = 0; b < bars; b++) {
      const chords = chordAt(b);
      const span = barTicks / Math.max(1, chords.length);
      chords.forEach((c, i) => {
        for (const p of voiceChord(c, a.tonic, center, 1)) {
          notes.push({ tick: b * barTicks + i * span, dur: span, pitch: p, vel: vel(0.6) });
        }
      });
    }
    parts.push({
      name: "pad",
      channel: channels[2] ?? 2,
      program: a.pad.program,
      volume: rng.int(45, 80),
      pan: pan(),
      reverb: rng.int(40, 90),
      notes,
    });
  }
  if (a.lead) {
    parts.push({
      name: "lead",
      channel: channels[3] ?? 3,
      program: a.lead.program,
      volume: rng.int(90, 120),
      pan: rng.int(44, 84),
      reverb: rng.int(20, 70),
      notes: melody(a, a.lead, bars, barTicks, chordAt, vel, art, human, rng),
    });
  }
  return { bpm: a.bpm, beatsPerBar: a.beatsPerBar, seconds, parts };
}

function drumNotes(
  pattern: DrumPattern,
  bars: number,
  barTicks: number,
  rng: Rng,
  swing: (t: number) => number,
  velocity: [number, number],
): Note[] {
  const notes: Note[] = [];
  const step = barTicks / pattern.steps;
  const level = rng.range(velocity[0], velocity[1]);
  const fillEvery = rng.pick([4, 8, 0]);
  for (let b = 0; b < bars; b++) {
    const fill = fillEvery > 0 && b % fillEvery === fillEvery - 1;
    if (b % 4 === 0 && rng.chance(0.5)) notes.push({ tick: b * barTicks, dur: step, pitch: 49, vel: level });
    for (const [pitchText, lane] of Object.entries(pattern.lanes)) {
      const pitch = Number(pitchText);
      for (let i = 0; i < pattern.steps; i++) {
        if (fill && i >= pattern.steps / 2 && pitch !== 36) continue;
        const c = lane[i];
        if (c === undefined || c === ".") continue;
        const accent = c === "X" ? 1.15 : c === "g" ? 0.45 : 0.9;
        const t = pattern.steps === 16 ? swing(b * barTicks + i * step) : b * barTicks + i * step;
        notes.push({
          tick: t + rng.range(-5, 5),
          dur: step,
          pitch,
          vel: clamp(Math.round(level * accent + rng.range(-8, 8)), 1, 127),
        });
      }
    }
    if (fill) {
      const toms = [50, 48, 47, 45, 43, 41];
      const half = pattern.steps / 2;
      for (let i = half; i < pattern.steps; i++) {
        if (rng.chance(0.25)) continue;
        const pitch = rng.chance(0.3)
          ? 38
          : toms[Math.min(toms.length - 1, Math.floor((i - half) / 2))] ?? 45;
        notes.push({
          tick: b * barTicks + i * step,
          dur: step,
          pitch,
          vel: clamp(level * rng.range(0.8, 1.1), 1, 127),
        });
      }
    }
  }
  return notes;
}

type Vel = (accent: number) => number;

function bassNotes(
  a: Arrangement,
  style: BassStyle,
  bars: number,
  barTicks: number,
  lo: number,
  chordAt: (bar: number) => Chord[],
  vel: Vel,
  art: () => number,
  human: (t: number) => number,
  rng: Rng,
): Note[] {
  const notes: Note[] = [];
  const mask = syncMask(rng, 16, rng.int(3, 6));
  const push = (tick: number, dur: number, pitch: number, accent: number) =>
    notes.push({ tick: human(tick), dur, pitch, vel: vel(accent) });
  for (let b = 0; b < bars; b++) {
    const chords = chordAt(b);
    const span = barTicks / Math.max(1, chords.length);
    chords.forEach((c, ci) => {
      const t0 = b * barTicks + ci * span;
      const root = rootInRange(c, a.tonic, lo);
      const third = root + (c.intervals[1] ?? 4);
      const fifth = root + 7;
      const beats = Math.max(1, Math.round(span / BEAT));
      switch (style) {
        case "root":
          for (let k = 0; k < beats; k += 2) push(t0 + k * BEAT, BEAT * 2 * art(), root, k === 0 ? 1 : 0.85);
          break;
        case "rootFifth":
        case "oomPah":
          for (let k = 0; k < beats; k++) {
            if (style === "rootFifth" || k % 2 === 0) {
              const p = k % 2 === 0 ? (k % 4 === 0 ? root : fifth - 12 < lo ? fifth : fifth - 12) : root + 12;
              push(t0 + k * BEAT, BEAT * (style === "oomPah" ? 0.45 : art()), p, 1);
            }
          }
          break;
        case "walking": {
          const next = rootInRange(chordAt(b + (ci === chords.length - 1 ? 1 : 0))[0] ?? c, a.tonic, lo);
          for (let k = 0; k < beats; k++) {
            let p = k === 0
              ? root
              : k === beats - 1
              ? next + rng.pick([-1, 1])
              : stepInScale(root, rng.pick([2, 4, 1, 3]) * (rng.chance(0.3) ? -1 : 1), a.tonic, a.mode);
            if (p < lo - 2) p += 12;
            push(t0 + k * BEAT, BEAT * 0.9, p, k === 0 ? 1 : 0.85);
          }
          break;
        }
        case "octave":
          for (let k = 0; k < beats * 2; k++) {
            push(t0 + k * BEAT / 2, BEAT * 0.4, k % 2 ? root + 12 : root, k % 2 ? 0.9 : 1);
          }
          break;
        case "eighths":
          for (let k = 0; k < beats * 2; k++) {
            push(
              t0 + k * BEAT / 2,
              BEAT * 0.45,
              k === beats * 2 - 1 && rng.chance(0.3) ? fifth : root,
              k % 2 ? 0.85 : 1,
            );
          }
          break;
        case "chug":
          for (let k = 0; k < beats * 4; k++) {
            if (rng.chance(0.1)) continue;
            push(t0 + k * BEAT / 4, BEAT * 0.2, root, k % 4 === 0 ? 1.05 : 0.85);
          }
          break;
        case "syncopated":
          for (let k = 0; k < beats * 4; k++) {
            if (!mask[k % 16]) continue;
            const p = k === 0 ? root : rng.weighted([root, root + 12, fifth, root + 10], [5, 2, 2, 1]);
            push(t0 + k * BEAT / 4, BEAT * rng.range(0.3, 0.9), p, k % 4 === 0 ? 1 : 0.85);
          }
          break;
        case "oneDrop":
          for (
            const [k, p] of [[2, root], [4, root], [7, third], [8, fifth], [11, root + 12], [
              12,
              fifth,
            ]] as const
          ) {
            if (k >= beats * 4 || (k > 4 && rng.chance(0.25))) continue;
            push(t0 + k * BEAT / 4, BEAT * 0.7, p, 1);
          }
          break;
        case "boogie": {
          const line = b % 2 === 0 ? [0, 4, 7, 9] : [10, 9, 7, 4];
          for (let k = 0; k < beats; k++) push(t0 + k * BEAT, BEAT * 0.6, root + (line[k % 4] ?? 0), 1);
          break;
        }
        case "sustain":
          push(t0, span * 0.98, root, 0.9);
          if (rng.chance(0.3)) push(t0, span * 0.98, fifth, 0.7);
          break;
      }
    });
  }
  return notes;
}

function syncMask(rng: Rng, steps: number, hits: number): boolean[] {
  const mask = new Array<boolean>(steps).fill(false);
  mask[0] = true;
  for (let i = 1; i < hits; i++) mask[rng.int(1, steps - 1)] = true;
  return mask;
}

function compNotes(
  a: Arrangement,
  style: CompStyle,
  center: number,
  bars: number,
  barTicks: number,
  chordAt: (bar: number) => Chord[],
  vel: Vel,
  art: () => number,
  human: (t: number) => number,
  rng: Rng,
): Note[] {
  const notes: Note[] = [];
  const mask = syncMask(rng, 16, rng.int(3, 5));
  const strum = Array.from({ length: 8 }, (_, i) => i % 2 === 0 ? rng.chance(0.85) : rng.chance(0.5));
  let inversion = rng.int(0, 2);
  const chordHit = (tick: number, pitches: number[], dur: number, accent: number, spread = 0) => {
    const v = vel(accent);
    pitches.forEach((p, i) => notes.push({ tick: human(tick) + i * spread, dur, pitch: p, vel: v }));
  };
  for (let b = 0; b < bars; b++) {
    const chords = chordAt(b);
    const span = barTicks / Math.max(1, chords.length);
    chords.forEach((c, ci) => {
      const t0 = b * barTicks + ci * span;
      if (rng.chance(0.3)) inversion = rng.int(0, 2);
      const v = voiceChord(c, a.tonic, center, inversion);
      const beats = Math.max(1, Math.round(span / BEAT));
      switch (style) {
        case "block":
          chordHit(t0, v, span * rng.range(0.85, 1), 0.75);
          break;
        case "strum":
          for (let k = 0; k < beats * 2; k++) {
            if (!strum[k % 8]) continue;
            const down = k % 2 === 0;
            const shape = [v[0]! - 12, ...v, v[0]! + 12].filter((p) => p >= 40);
            chordHit(
              t0 + k * BEAT / 2,
              down ? shape : [...shape].reverse(),
              BEAT / 2 * art(),
              down ? 0.95 : 0.75,
              12,
            );
          }
          break;
        case "powerChug": {
          const root = rootInRange(c, a.tonic, 40);
          const power = [root, root + 7, root + 12];
          const rate = a.bpm > 150 ? 2 : 4;
          for (let k = 0; k < beats * rate; k++) {
            const muted = rng.chance(0.7);
            chordHit(
              t0 + k * BEAT / rate,
              power,
              (BEAT / rate) * (muted ? 0.35 : 0.9),
              muted ? 0.85 : 1.05,
              4,
            );
          }
          break;
        }
        case "skank":
          for (let k = 1; k < beats; k += 2) chordHit(t0 + k * BEAT, v, BEAT * 0.25, 0.9, 3);
          if (rng.chance(0.5)) {
            for (let k = 0; k < beats; k++) chordHit(t0 + k * BEAT + BEAT / 2, v, BEAT * 0.2, 0.6);
          }
          break;
        case "stabs":
          for (let k = 0; k < beats * 4; k++) {
            if (k % 4 === 2 || (mask[k % 16] && rng.chance(0.3))) {
              chordHit(t0 + k * BEAT / 4, v, BEAT * 0.25, 0.95);
            }
          }
          break;
        case "jazzComp": {
          const rootless = [...v.slice(1), (v[0] ?? center) + 14];
          const hits = rng.int(1, 3);
          for (let h = 0; h < hits; h++) {
            const k = rng.int(0, beats * 2 - 1);
            chordHit(t0 + k * BEAT / 2, rootless, BEAT * rng.range(0.3, 1.5), rng.range(0.6, 0.95));
          }
          break;
        }
        case "arpeggio": {
          const tones = [...v, ...v.map((p) => p + 12)];
          const rate = rng.chance(0.5) ? 2 : 4;
          const up = rng.chance(0.6);
          for (let k = 0; k < beats * rate; k++) {
            const idx = up
              ? k % tones.length
              : (k % (2 * tones.length - 2) < tones.length
                ? k % (2 * tones.length - 2)
                : 2 * tones.length - 2 - (k % (2 * tones.length - 2)));
            notes.push({
              tick: human(t0 + k * BEAT / rate),
              dur: BEAT / rate * 1.5,
              pitch: tones[idx] ?? center,
              vel: vel(0.75),
            });
          }
          break;
        }
        case "alberti": {
          const [lo = center, mid = center + 4, hi = center + 7] = voiceChord(c, a.tonic, center - 7, 0);
          const seq = [lo, hi, mid, hi];
          for (let k = 0; k < beats * 2; k++) {
            notes.push({
              tick: human(t0 + k * BEAT / 2),
              dur: BEAT / 2 * art(),
              pitch: seq[k % 4] ?? lo,
              vel: vel(0.7),
            });
          }
          break;
        }
        case "shuffle":
          for (let k = 0; k < beats; k++) {
            chordHit(t0 + k * BEAT, v, BEAT * 0.55, 0.9);
            chordHit(t0 + k * BEAT + (BEAT * 2) / 3, v, BEAT * 0.28, 0.65);
          }
          break;
        case "loop":
          for (let k = 0; k < beats * 4; k++) {
            if (mask[k % 16]) chordHit(t0 + k * BEAT / 4, v, BEAT * rng.range(0.5, 1.5), 0.8);
          }
          break;
        case "tremolo":
          for (let k = 0; k < beats * 4; k++) chordHit(t0 + k * BEAT / 4, v.slice(0, 2), BEAT / 4 * 0.9, 0.8);
          break;
      }
    });
  }
  return notes;
}

function melody(
  a: Arrangement,
  lead: NonNullable<Arrangement["lead"]>,
  bars: number,
  barTicks: number,
  chordAt: (bar: number) => Chord[],
  vel: Vel,
  art: () => number,
  human: (t: number) => number,
  rng: Rng,
): Note[] {
  const [lo, hi] = lead.register;
  const grid = lead.density > 1.6 ? BEAT / 4 : lead.density > 0.6 ? BEAT / 2 : BEAT;
  const slots = Math.round(barTicks / grid);
  const p = clamp(lead.density * grid / BEAT, 0.1, 0.95);
  // A one-bar rhythm motif, reused with variation so phrases repeat the way songs do.
  const motifs = [0, 1].map(() => Array.from({ length: slots }, (_, i) => i === 0 || rng.chance(p)));
  const notes: Note[] = [];
  let pitch = nearestScalePitch(Math.round((lo + hi) / 2), a.tonic, a.mode);
  for (let b = 0; b < bars; b++) {
    const phraseBar = b % 4;
    if (phraseBar === 3 && rng.chance(0.5)) continue; // breathe at phrase ends
    const motif = motifs[phraseBar === 2 ? 1 : 0] ?? [];
    const onsets = motif.map((on, i) => (on && !rng.chance(0.1)) || (!on && rng.chance(0.05)) ? i : -1)
      .filter((i) => i >= 0);
    const chords = chordAt(b);
    onsets.forEach((slot, j) => {
      const tick = b * barTicks + slot * grid;
      const next = onsets[j + 1] ?? slots + 1;
      const chord =
        chords[Math.min(chords.length - 1, Math.floor((slot * grid) / (barTicks / chords.length)))];
      const step = rng.chance(0.2)
        ? rng.pick([-lead.leap, lead.leap])
        : rng.weighted([-2, -1, 1, 2, 0], [2, 4, 4, 2, 1]);
      pitch = stepInScale(pitch, step, a.tonic, a.mode);
      if (pitch > hi) pitch = stepInScale(pitch, -4, a.tonic, a.mode);
      if (pitch < lo) pitch = stepInScale(pitch, 4, a.tonic, a.mode);
      if (chord && (slot * grid) % BEAT === 0) {
        const tones = chord.intervals.map((i) => (a.tonic + chord.root + i) % 12);
        for (const d of [0, 1, -1, 2, -2]) {
          if (tones.includes((((pitch + d) % 12) + 12) % 12)) {
            pitch += d;
            break;
          }
        }
      }
      const dur = (next - slot) * grid * art();
      if (rng.chance(lead.chromatic)) {
        notes.push({ tick: human(tick), dur: grid / 2, pitch: pitch + rng.pick([-1, 1]), vel: vel(0.8) });
        notes.push({
          tick: human(tick + grid / 2),
          dur: Math.max(grid / 2, dur - grid / 2),
          pitch,
          vel: vel(0.95),
        });
      } else {
        notes.push({ tick: human(tick), dur, pitch, vel: vel(slot === 0 ? 1.05 : 0.95) });
      }
    });
  }
  return notes;
}

/**
 * Composes a genre clip.
 *
 * @param genre The class.
 * @param seed The clip's seed.
 * @param seconds Clip length.
 * @returns The song.
 * @example
 * ```ts
 * import { composeGenre } from "./compose.ts";
 * const song = composeGenre("jazz", 1, 10);
 * console.assert(song.parts.length > 0);
 * ```
 */
export function composeGenre(genre: Genre, seed: number, seconds: number): Song {
  const rng = createRng(seed);
  return realize(arrangeGenre(genre, rng.fork("arrange")), seconds, rng.fork("notes"));
}

/** Composes a mood clip (see {@linkcode arrangeEmotion}). */
export function composeEmotion(emotion: Emotion, seed: number, seconds: number): Song {
  const rng = createRng(seed);
  return realize(arrangeEmotion(emotion, rng.fork("arrange")), seconds, rng.fork("notes"));
}

/** Composes a demo catalog track mixing a genre and a mood (see {@linkcode arrangeDemo}). */
export function composeDemo(genre: Genre, emotion: Emotion, seed: number, seconds: number): Song {
  const rng = createRng(seed);
  return realize(arrangeDemo(genre, emotion, rng.fork("arrange")), seconds, rng.fork("notes"));
}

/**
 * Composes a solo instrument clip: phrases (melodies, arpeggios, strummed or two-handed chords, drum
 * grooves with fills) in a random key, tempo and register for that instrument alone.
 *
 * @param instrument The class.
 * @param seed The clip's seed.
 * @param seconds Clip length.
 * @returns The song (one part, or two hands of one piano).
 */
export function composeInstrument(instrument: Instrument, seed: number, seconds: number): Song {
  const rng = createRng(seed);
  const prof = INSTRUMENT_PROFILES[instrument];
  const program = rng.pick(prof.programs);
  const genre = rng.pick(
    ["blues", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"] as const,
  );
  const base = arrangeGenre(
    instrument === "violin" || instrument === "piano" && rng.chance(0.4) ? "classical" : genre,
    rng.fork("arrange"),
  );
  const a: Arrangement = {
    ...base,
    bpm: rng.int(60, 160),
    velocity: [rng.int(40, 80), rng.int(85, 127)],
    articulation: program === 45 ? [0.2, 0.35] : [rng.range(0.4, 0.8), 1],
    drums: null,
    bass: null,
    comp: null,
    pad: null,
    lead: null,
  };
  const [lo, hi] = prof.register;
  const notesRng = rng.fork("notes");
  if (instrument === "drum") {
    const style = GENRE_STYLES[genre];
    const song = realize(
      {
        ...a,
        bpm: rng.int(70, 180),
        velocity: [rng.int(60, 90), rng.int(95, 127)],
        drums: { pattern: rng.pick(style.drums), kit: program },
      },
      seconds,
      notesRng,
    );
    return song;
  }
  const phrase = instrument === "violin"
    ? rng.weighted(["melody", "arpeggio"], [4, 1])
    : instrument === "guitar"
    ? rng.weighted(["melody", "strum", "arpeggio", "power"], [
      3,
      3,
      2,
      program >= 29 && program <= 30 ? 3 : 0.3,
    ])
    : rng.weighted(["melody", "arpeggio", "alberti", "block"], [2, 2, 1, 1]);
  const melodyLo = Math.max(lo, instrument === "violin" ? rng.int(55, 67) : rng.int(50, 62));
  const withLead = phrase === "melody" || (instrument === "piano" && rng.chance(0.6));
  const styleOf: Record<string, CompStyle> = {
    strum: "strum",
    arpeggio: "arpeggio",
    alberti: "alberti",
    block: "block",
    power: "powerChug",
  };
  const arranged: Arrangement = {
    ...a,
    comp: phrase === "melody"
      ? null
      : { style: styleOf[phrase] ?? "arpeggio", program, center: clamp(rng.int(48, 64), lo + 12, hi - 12) },
    lead: withLead
      ? {
        program,
        register: [melodyLo, Math.min(hi, melodyLo + rng.int(14, 24))],
        density: rng.range(0.6, instrument === "violin" ? 2.2 : 3),
        chromatic: 0.05,
        leap: rng.int(2, 5),
      }
      : null,
  };
  const song = realize(arranged, seconds, notesRng);
  // One instrument: every part uses the solo program, centred, with the same room.
  const reverb = rng.int(10, 60);
  for (const part of song.parts) {
    part.program = program;
    part.pan = 64;
    part.reverb = reverb;
  }
  return song;
}
