/**
 * The musical vocabulary of the synthetic corpus: 10 genre styles (after GTZAN), 5 mood clusters
 * (after MIREX), 4 solo instruments. Each entry is data; `compose.ts` turns it into notes.
 * @module
 */
import type { ModeName } from "./theory.ts";
import { GTZAN_GENRES } from "../datasets/gtzan.ts";

/** The 10 GTZAN genre classes, in the loaders' order (the corpus imitates GTZAN's classes). */
export const GENRES = GTZAN_GENRES;
/** A genre class. */
export type Genre = typeof GENRES[number];

/** The 5 MIREX mood clusters. */
export const EMOTIONS = ["cluster1", "cluster2", "cluster3", "cluster4", "cluster5"] as const;
/** A mood cluster. */
export type Emotion = typeof EMOTIONS[number];

/** The 4 solo instrument classes. */
export const INSTRUMENTS = ["guitar", "drum", "violin", "piano"] as const;
/** A solo instrument class. */
export type Instrument = typeof INSTRUMENTS[number];

/**
 * A drum pattern for one bar: lanes of GM percussion notes, one character per step:
 * `X` accent, `x` hit, `g` ghost, `.` rest.
 */
export interface DrumPattern {
  steps: 12 | 16;
  lanes: Readonly<Record<number, string>>;
}

/** How the bass moves. */
export type BassStyle =
  | "root"
  | "rootFifth"
  | "walking"
  | "octave"
  | "eighths"
  | "chug"
  | "syncopated"
  | "oneDrop"
  | "boogie"
  | "sustain"
  | "oomPah";

/** How the harmony instrument plays the chords. */
export type CompStyle =
  | "block"
  | "strum"
  | "powerChug"
  | "skank"
  | "stabs"
  | "jazzComp"
  | "arpeggio"
  | "alberti"
  | "shuffle"
  | "loop"
  | "tremolo";

/** One genre's recipe. Ranges are [low, high] and drawn per clip. */
export interface GenreStyle {
  bpm: readonly [number, number];
  beatsPerBar: 3 | 4;
  /** Delay of off-beat subdivisions as a fraction of the subdivision (0 straight, ~0.33 triplet swing). */
  swing: readonly [number, number];
  swingUnit: 8 | 16;
  modes: readonly ModeName[];
  progressions: readonly string[];
  drums: readonly DrumPattern[];
  /** Probability that a clip has no drums at all. */
  noDrums: number;
  bass: readonly BassStyle[];
  comp: readonly CompStyle[];
  programs: {
    bass: readonly number[];
    comp: readonly number[];
    lead: readonly number[];
    pad: readonly number[];
  };
  /** Probability of a sustained pad part. */
  pad: number;
  /** Probability of a lead melody. */
  lead: number;
  /** Notes per beat of the lead, drawn in this range. */
  leadDensity: readonly [number, number];
  leadRegister: readonly [number, number];
  velocity: readonly [number, number];
  /** Fraction of a note's slot it sounds (0.3 staccato, 1 legato). */
  articulation: readonly [number, number];
  /** Programs of the drum-channel kit (GM2-style bank 128 presets in FluidR3: 0 standard, 8 room, 16 power, 24 electronic, 25 TR-808, 32 jazz, 40 brush). */
  kits: readonly number[];
}

// GM percussion notes.
const K = 36,
  S = 38,
  RIM = 37,
  CH = 42,
  PH = 44,
  OH = 46,
  CR = 49,
  RD = 51,
  CLAP = 39,
  TAMB = 54,
  SHK = 70;

const d16 = (lanes: Record<number, string>): DrumPattern => ({ steps: 16, lanes });
const d12 = (lanes: Record<number, string>): DrumPattern => ({ steps: 12, lanes });

/** The 10 genre recipes. */
export const GENRE_STYLES: Readonly<Record<Genre, GenreStyle>> = {
  blues: {
    bpm: [66, 100],
    beatsPerBar: 4,
    swing: [0, 0],
    swingUnit: 8,
    modes: ["blues", "mixolydian", "minorPentatonic"],
    progressions: ["I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7", "I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 I7"],
    drums: [
      d12({ [K]: "x.....x.....", [S]: "......x.....", [RD]: "x.gx.gx.gx.g", [PH]: "...x.....x.." }),
      d12({ [K]: "x.....x..g..", [S]: "...X.....X..", [CH]: "x.xx.xx.xx.x" }),
      d12({ [K]: "x.....x.....", [S]: "...x..g..x..", [RD]: "x..x.xx..x.x" }),
    ],
    noDrums: 0.1,
    bass: ["boogie", "walking"],
    comp: ["shuffle", "block"],
    programs: { bass: [32, 33], comp: [0, 16, 17, 27, 4], lead: [29, 27, 22, 65, 26], pad: [16, 19] },
    pad: 0.2,
    lead: 0.85,
    leadDensity: [0.7, 1.6],
    leadRegister: [55, 79],
    velocity: [60, 105],
    articulation: [0.55, 0.95],
    kits: [0, 8, 32],
  },
  classical: {
    bpm: [60, 126],
    beatsPerBar: 4,
    swing: [0, 0],
    swingUnit: 8,
    modes: ["major", "harmonicMinor", "major", "minor"],
    progressions: [
      "I IV V I vi ii V I",
      "i iv V i VI iio V i",
      "I V vi iii IV I ii V",
      "I ii V I IV viio iii vi",
      "i VI iv V i iv V i",
    ],
    drums: [],
    noDrums: 1,
    bass: ["sustain", "root"],
    comp: ["alberti", "arpeggio", "block", "tremolo"],
    programs: {
      bass: [42, 43, 48],
      comp: [0, 6, 48, 49, 46],
      lead: [40, 73, 68, 71, 41, 60, 0],
      pad: [48, 49, 52],
    },
    pad: 0.5,
    lead: 0.9,
    leadDensity: [0.8, 2.5],
    leadRegister: [62, 88],
    velocity: [40, 95],
    articulation: [0.75, 1],
    kits: [0],
  },
  country: {
    bpm: [92, 138],
    beatsPerBar: 4,
    swing: [0, 0.1],
    swingUnit: 8,
    modes: ["major", "majorPentatonic", "mixolydian"],
    progressions: ["I I IV IV V V I I", "I IV I V I IV V I", "I V vi IV I IV V I", "I I V V IV IV I V"],
    drums: [
      d16({
        [K]: "x.......x.......",
        [S]: "....x.......x...",
        [CH]: "x.x.x.x.x.x.x.x.",
        [RIM]: "..g...g...g...g.",
      }),
      d16({ [K]: "x.......x.......", [S]: "gxgxgxgxgxgxgxgx" }),
      d16({ [K]: "x.....x.x.......", [RIM]: "....x.......x...", [TAMB]: "..x...x...x...x." }),
    ],
    noDrums: 0.15,
    bass: ["rootFifth", "rootFifth", "walking"],
    comp: ["strum", "arpeggio"],
    programs: { bass: [32, 33], comp: [25, 24, 105], lead: [110, 25, 26, 22, 105], pad: [21, 19] },
    pad: 0.15,
    lead: 0.8,
    leadDensity: [1, 2.5],
    leadRegister: [60, 84],
    velocity: [65, 105],
    articulation: [0.5, 0.85],
    kits: [0, 8, 40],
  },
  disco: {
    bpm: [110, 130],
    beatsPerBar: 4,
    swing: [0, 0.05],
    swingUnit: 16,
    modes: ["dorian", "minor", "major"],
    progressions: ["i7 iv7 i7 iv7", "ii7 V7 Imaj7 vi7", "i7 i7 bVII bVII", "vi ii V I", "i9 iv9 i9 v7"],
    drums: [
      d16({
        [K]: "x...x...x...x...",
        [S]: "....X.......X...",
        [CH]: "x.x.x.x.x.x.x.x.",
        [OH]: "..x...x...x...x.",
      }),
      d16({
        [K]: "x...x...x...x...",
        [CLAP]: "....X.......X...",
        [CH]: "xxxxxxxxxxxxxxxx",
        [OH]: "..x...x...x...x.",
      }),
      d16({
        [K]: "x...x...x...x...",
        [S]: "....x.......x..g",
        [OH]: "..X...X...X...X.",
        [TAMB]: "xxxxxxxxxxxxxxxx",
      }),
    ],
    noDrums: 0,
    bass: ["octave", "octave", "syncopated"],
    comp: ["stabs", "strum", "stabs"],
    programs: {
      bass: [33, 36, 38, 39],
      comp: [48, 61, 7, 4, 28, 62],
      lead: [61, 48, 81, 56, 65],
      pad: [48, 50, 89],
    },
    pad: 0.5,
    lead: 0.6,
    leadDensity: [1, 2],
    leadRegister: [64, 86],
    velocity: [75, 115],
    articulation: [0.35, 0.7],
    kits: [0, 24, 25],
  },
  hiphop: {
    bpm: [76, 98],
    beatsPerBar: 4,
    swing: [0.12, 0.3],
    swingUnit: 16,
    modes: ["minor", "dorian", "minorPentatonic"],
    progressions: ["i7 i7 iv7 iv7", "i i bVI bVII", "i9 bVImaj7 i9 bVImaj7", "ii7 v7 ii7 v7", "i i i bVI"],
    drums: [
      d16({ [K]: "x......x..x.....", [S]: "....X.......X...", [CH]: "x.x.x.x.x.x.x.x." }),
      d16({ [K]: "x.x.......x..x..", [S]: "....X.......X...", [CH]: "x.xxx.x.x.xxx.x." }),
      d16({
        [K]: "x.........xx....",
        [CLAP]: "....X.......X...",
        [CH]: "xxxxxxxxxxxxxxxx",
        [OH]: "..............x.",
      }),
      d16({ [K]: "x..x......x.....", [S]: "....X..g....X...", [SHK]: "x.x.x.x.x.x.x.x." }),
    ],
    noDrums: 0,
    bass: ["syncopated", "root"],
    comp: ["loop", "block", "loop"],
    programs: {
      bass: [38, 39, 33, 35],
      comp: [4, 0, 5, 11, 48, 89],
      lead: [4, 80, 11, 73, 0],
      pad: [89, 91, 48],
    },
    pad: 0.4,
    lead: 0.4,
    leadDensity: [0.5, 1.2],
    leadRegister: [60, 80],
    velocity: [70, 110],
    articulation: [0.4, 0.9],
    kits: [25, 24, 0, 8],
  },
  jazz: {
    bpm: [100, 200],
    beatsPerBar: 4,
    swing: [0.25, 0.36],
    swingUnit: 8,
    modes: ["dorian", "major", "mixolydian"],
    progressions: [
      "ii7/V7 Imaj7 ii7/V7 Imaj7",
      "Imaj7 vi7 ii7 V7 iii7 vi7 ii7 V7",
      "ii7 V7 Imaj7 Imaj7 ii7 V7 iii7/vi7 ii7/V7",
      "i7 i7 iv7 iv7 i7 bVI7 ii7/V7 i7",
    ],
    drums: [
      d12({ [RD]: "x..x.xx..x.x", [PH]: "...x.....x..", [K]: "g.....g.....", [S]: ".....g......" }),
      d12({ [RD]: "x..x.xx..x.x", [PH]: "...x.....x..", [S]: "..g.....g..g" }),
      d12({ [RD]: "x..x.xx..x.x", [PH]: "...x.....x..", [K]: "g..g..g..g.." }),
    ],
    noDrums: 0.1,
    bass: ["walking", "walking", "walking", "root"],
    comp: ["jazzComp", "jazzComp", "block"],
    programs: { bass: [32, 32, 33], comp: [0, 4, 11, 26], lead: [65, 66, 56, 11, 0, 26, 71, 57], pad: [] },
    pad: 0,
    lead: 0.9,
    leadDensity: [1.2, 2.6],
    leadRegister: [58, 84],
    velocity: [50, 100],
    articulation: [0.6, 0.95],
    kits: [32, 40, 0],
  },
  metal: {
    bpm: [130, 200],
    beatsPerBar: 4,
    swing: [0, 0],
    swingUnit: 16,
    modes: ["phrygian", "minor", "harmonicMinor"],
    progressions: [
      "i5 i5 bII5 i5",
      "i5 bVI5 bVII5 i5",
      "i5 i5 bV5 iv5",
      "i5 bVII5 bVI5 bVII5",
      "i5 iv5 bII5 i5",
    ],
    drums: [
      d16({ [K]: "xxxxxxxxxxxxxxxx", [S]: "....X.......X...", [CR]: "x.......x......." }),
      d16({ [K]: "x.xxx.xxx.xxx.xx", [S]: "....X.......X...", [CH]: "x.x.x.x.x.x.x.x." }),
      d16({ [K]: "x.x.x.x.x.x.x.x.", [S]: ".x.x.x.x.x.x.x.x", [CR]: "x...x...x...x..." }),
      d16({ [K]: "xx..xx..xx..xx..", [S]: "....X.......X...", [RD]: "x.x.x.x.x.x.x.x." }),
    ],
    noDrums: 0,
    bass: ["chug", "eighths"],
    comp: ["powerChug", "powerChug", "tremolo"],
    programs: { bass: [34, 33, 35], comp: [30, 30, 29], lead: [30, 29, 81], pad: [] },
    pad: 0,
    lead: 0.5,
    leadDensity: [2, 4],
    leadRegister: [52, 84],
    velocity: [95, 127],
    articulation: [0.3, 0.6],
    kits: [16, 0],
  },
  pop: {
    bpm: [92, 128],
    beatsPerBar: 4,
    swing: [0, 0.08],
    swingUnit: 16,
    modes: ["major", "majorPentatonic", "major"],
    progressions: ["I V vi IV", "vi IV I V", "I vi IV V", "IV I V vi", "I IV vi V"],
    drums: [
      d16({ [K]: "x.......x.x.....", [S]: "....X.......X...", [CH]: "x.x.x.x.x.x.x.x." }),
      d16({
        [K]: "x..x....x.......",
        [CLAP]: "....X.......X...",
        [CH]: "..x...x...x...x.",
        [SHK]: "xxxxxxxxxxxxxxxx",
      }),
      d16({
        [K]: "x...x...x...x...",
        [S]: "....X.......X...",
        [CH]: "x.x.x.x.x.x.x.x.",
        [TAMB]: "....x.......x...",
      }),
    ],
    noDrums: 0.05,
    bass: ["eighths", "root", "syncopated"],
    comp: ["strum", "block", "arpeggio", "stabs"],
    programs: {
      bass: [33, 38, 34],
      comp: [0, 25, 4, 88, 89, 24],
      lead: [80, 54, 73, 0, 81, 11, 52],
      pad: [88, 89, 91, 48],
    },
    pad: 0.5,
    lead: 0.85,
    leadDensity: [0.8, 1.8],
    leadRegister: [62, 84],
    velocity: [70, 105],
    articulation: [0.6, 0.95],
    kits: [0, 24, 8],
  },
  reggae: {
    bpm: [66, 92],
    beatsPerBar: 4,
    swing: [0.05, 0.2],
    swingUnit: 16,
    modes: ["minor", "dorian", "major"],
    progressions: ["i i iv iv", "I IV I IV", "i bVII i bVII", "I V IV IV", "ii7 V7 ii7 V7"],
    drums: [
      d16({ [K]: "........X.......", [RIM]: "........X.......", [CH]: "x.x.x.x.x.x.x.x." }),
      d16({
        [K]: "........X.......",
        [S]: "........X.......",
        [CH]: "..x...x...x...x.",
        [OH]: "..............x.",
      }),
      d16({ [K]: "x...x...x...x...", [RIM]: "....x.......x...", [CH]: "x.xxx.xxx.xxx.xx" }),
    ],
    noDrums: 0,
    bass: ["oneDrop", "oneDrop", "syncopated"],
    comp: ["skank", "skank", "skank"],
    programs: { bass: [33, 38, 32], comp: [27, 28, 16, 17, 0], lead: [16, 56, 65, 4, 80], pad: [16] },
    pad: 0.35,
    lead: 0.5,
    leadDensity: [0.5, 1.3],
    leadRegister: [60, 82],
    velocity: [60, 100],
    articulation: [0.3, 0.6],
    kits: [0, 8, 25],
  },
  rock: {
    bpm: [100, 150],
    beatsPerBar: 4,
    swing: [0, 0.05],
    swingUnit: 8,
    modes: ["mixolydian", "minorPentatonic", "major", "minor"],
    progressions: ["I bVII IV I", "I IV V IV", "vi IV I V", "i bVI bIII bVII", "I5 bIII5 IV5 I5", "I I IV V"],
    drums: [
      d16({
        [K]: "x.......x.x.....",
        [S]: "....X.......X...",
        [CH]: "x.x.x.x.x.x.x.x.",
        [CR]: "x...............",
      }),
      d16({ [K]: "x.x.....x.x.....", [S]: "....X.......X...", [OH]: "x.x.x.x.x.x.x.x." }),
      d16({ [K]: "x.....x.x.......", [S]: "....X.......X...", [RD]: "x.x.x.x.x.x.x.x." }),
      d16({ [K]: "x...x...x...x...", [S]: "....X..g....X...", [CH]: "xxxxxxxxxxxxxxxx" }),
    ],
    noDrums: 0,
    bass: ["eighths", "eighths", "root"],
    comp: ["powerChug", "strum", "strum"],
    programs: { bass: [34, 33, 35], comp: [29, 30, 27, 25], lead: [29, 30, 27, 0, 18], pad: [18, 16] },
    pad: 0.15,
    lead: 0.7,
    leadDensity: [1, 2.5],
    leadRegister: [57, 84],
    velocity: [85, 120],
    articulation: [0.5, 0.85],
    kits: [0, 16, 8],
  },
};

/** How a mood bends an arrangement. Ranges are [low, high]. */
export interface MoodProfile {
  /** Genre recipes a clip of this mood borrows its groove and instrumentation from. */
  baseGenres: readonly Genre[];
  modes: readonly ModeName[];
  progressions: readonly string[];
  bpm: readonly [number, number];
  velocity: readonly [number, number];
  /** Semitones added to the lead and comp registers. */
  register: readonly [number, number];
  articulation: readonly [number, number];
  /** Multiplies the lead's note density. */
  density: readonly [number, number];
  /** Probability of no drums. */
  noDrums: number;
  /** Replacement programs (empty: keep the base genre's). */
  lead: readonly number[];
  comp: readonly number[];
  bass: readonly BassStyle[];
  compStyles: readonly CompStyle[];
  /** Probability of chromatic neighbour notes in the lead (quirky, tense). */
  chromatic: number;
  /** Typical melodic leap in scale steps. */
  leap: number;
}

/** The 5 MIREX mood clusters. */
export const MOOD_PROFILES: Readonly<Record<Emotion, MoodProfile>> = {
  // passionate, rousing, confident, boisterous, rowdy
  cluster1: {
    baseGenres: ["rock", "pop", "classical", "country", "disco"],
    modes: ["major", "mixolydian"],
    progressions: ["I IV V I", "I V vi IV", "I bVII IV I", "IV V I I", "I iii IV V"],
    bpm: [112, 144],
    velocity: [95, 127],
    register: [0, 5],
    articulation: [0.75, 1],
    density: [1, 1.5],
    noDrums: 0.1,
    lead: [61, 56, 60, 48, 29, 30],
    comp: [48, 61, 29, 0],
    bass: ["eighths", "root", "octave"],
    compStyles: ["strum", "block", "powerChug"],
    chromatic: 0,
    leap: 3,
  },
  // cheerful, fun, sweet, amiable, good natured
  cluster2: {
    baseGenres: ["pop", "country", "reggae", "disco", "classical"],
    modes: ["major", "majorPentatonic", "lydian"],
    progressions: ["I IV V I", "I vi IV V", "I V IV V", "I ii V I", "IV V iii vi"],
    bpm: [104, 132],
    velocity: [60, 95],
    register: [5, 12],
    articulation: [0.35, 0.7],
    density: [1.1, 1.8],
    noDrums: 0.25,
    lead: [12, 9, 73, 24, 11, 79, 0],
    comp: [24, 0, 12, 25, 8],
    bass: ["rootFifth", "root", "oomPah"],
    compStyles: ["strum", "arpeggio", "skank", "stabs"],
    chromatic: 0,
    leap: 2,
  },
  // poignant, wistful, bittersweet, autumnal, brooding
  cluster3: {
    baseGenres: ["classical", "jazz", "pop", "blues", "hiphop"],
    modes: ["minor", "dorian", "harmonicMinor"],
    progressions: ["i VI III VII", "i iv VI V", "vi IV I V", "i7 iv7 bVImaj7 V7", "i i iv iv"],
    bpm: [52, 80],
    velocity: [35, 70],
    register: [-7, 0],
    articulation: [0.9, 1],
    density: [0.4, 0.8],
    noDrums: 0.6,
    lead: [42, 40, 0, 71, 68, 73, 41],
    comp: [0, 48, 49, 4, 46, 89],
    bass: ["sustain", "root"],
    compStyles: ["arpeggio", "block", "alberti"],
    chromatic: 0,
    leap: 2,
  },
  // humorous, silly, campy, quirky, whimsical, witty, wry
  cluster4: {
    baseGenres: ["country", "jazz", "pop", "classical", "reggae"],
    modes: ["major", "mixolydian", "lydian"],
    progressions: ["I V7 I V7", "I IV I V7", "I #io7 ii7 V7", "I vi ii V7", "I bIII IV V7"],
    bpm: [116, 160],
    velocity: [55, 95],
    register: [-5, 10],
    articulation: [0.2, 0.45],
    density: [1.2, 2.2],
    noDrums: 0.35,
    lead: [70, 71, 58, 13, 79, 45, 12, 22, 64],
    comp: [45, 0, 6, 13, 105],
    bass: ["oomPah", "oomPah", "walking"],
    compStyles: ["stabs", "skank", "alberti"],
    chromatic: 0.3,
    leap: 5,
  },
  // aggressive, fiery, tense/anxious, intense, volatile, visceral
  cluster5: {
    baseGenres: ["metal", "rock", "hiphop", "classical", "disco"],
    modes: ["phrygian", "harmonicMinor", "minor"],
    progressions: ["i5 bII5 i5 bII5", "i bII i bV", "i5 bVI5 bV5 i5", "i iio i V", "i5 i5 bVII5 bII5"],
    bpm: [140, 190],
    velocity: [100, 127],
    register: [-12, -3],
    articulation: [0.25, 0.6],
    density: [1.5, 2.5],
    noDrums: 0.05,
    lead: [30, 29, 81, 44, 48, 57],
    comp: [30, 29, 44, 48, 81],
    bass: ["chug", "eighths"],
    compStyles: ["powerChug", "tremolo", "stabs"],
    chromatic: 0.2,
    leap: 4,
  },
};

/** A solo instrument's GM programs (first is the canonical one) and playing range. */
export interface InstrumentProfile {
  programs: readonly number[];
  register: readonly [number, number];
}

/** The 4 solo instruments. Drums use the kits of {@linkcode GENRE_STYLES}. */
export const INSTRUMENT_PROFILES: Readonly<Record<Instrument, InstrumentProfile>> = {
  guitar: { programs: [25, 24, 26, 27, 29, 30, 28], register: [40, 84] },
  drum: { programs: [0, 8, 16, 24, 25, 32, 40], register: [35, 81] },
  violin: { programs: [40, 40, 40, 110, 44, 45], register: [55, 96] },
  piano: { programs: [0, 0, 1, 2, 3], register: [28, 100] },
};
