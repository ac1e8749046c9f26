/**
 * The composition model (a song is parts of timed notes) and its Standard MIDI File encoding with
 * `midi-file`.
 * @module
 */
import { type MidiData, type MidiEvent, writeMidi } from "midi-file";

/** MIDI ticks per quarter note used by every composition. */
export const TICKS_PER_BEAT = 480;

/** The General-MIDI percussion channel (channel 10, zero-based 9). */
export const DRUM_CHANNEL = 9;

/** One note. Times are in ticks from the start of the song. */
export interface Note {
  tick: number;
  dur: number;
  pitch: number;
  vel: number;
}

/** One instrument part on one MIDI channel. */
export interface Part {
  /** A readable role ("drums", "bass", "chords", "lead", "solo"). */
  name: string;
  /** Zero-based MIDI channel; {@linkcode DRUM_CHANNEL} for drums. */
  channel: number;
  /** General-MIDI program (0-127); on the drum channel, the drum kit. */
  program: number;
  /** Channel volume, CC 7 (0-127). */
  volume: number;
  /** Pan, CC 10 (0-127, 64 centre). */
  pan: number;
  /** Reverb send, CC 91 (0-127). */
  reverb: number;
  notes: Note[];
}

/** A whole composition. */
export interface Song {
  bpm: number;
  beatsPerBar: number;
  /** The length the rendered clip is cut to. Notes past it are dropped. */
  seconds: number;
  parts: Part[];
}

/** Ticks in `seconds` at `bpm`. */
export function secondsToTicks(seconds: number, bpm: number): number {
  return Math.round(seconds * bpm / 60 * TICKS_PER_BEAT);
}

interface Timed {
  tick: number;
  order: number;
  event: MidiEvent;
}

const clamp7 = (v: number): number => Math.max(0, Math.min(127, Math.round(v)));

/**
 * Encodes a song as a format-1 Standard MIDI File: a tempo track, then one track per part. Notes are
 * clamped to valid ranges and cut at the song's end; the output is a pure function of the song.
 *
 * @param song The composition.
 * @returns The file's bytes.
 * @example
 * ```ts
 * import { songToMidi } from "./song.ts";
 * const bytes = songToMidi({ bpm: 120, beatsPerBar: 4, seconds: 2, parts: [] });
 * console.assert(bytes[0] === 0x4d); // "MThd"
 * ```
 */
export function songToMidi(song: Song): Uint8Array {
  const end = secondsToTicks(song.seconds, song.bpm);
  const tempoTrack: MidiEvent[] = [
    { deltaTime: 0, meta: true, type: "setTempo", microsecondsPerBeat: Math.round(60_000_000 / song.bpm) },
    {
      deltaTime: 0,
      meta: true,
      type: "timeSignature",
      numerator: song.beatsPerBar,
      denominator: 4,
      metronome: 24,
      thirtyseconds: 8,
    },
    { deltaTime: end, meta: true, type: "endOfTrack" },
  ];
  const tracks: MidiEvent[][] = [tempoTrack];
  for (const part of song.parts) {
    const ch = part.channel;
    const timed: Timed[] = [];
    const head: MidiEvent[] = [
      { deltaTime: 0, meta: true, type: "trackName", text: part.name },
      { deltaTime: 0, channel: ch, type: "controller", controllerType: 7, value: clamp7(part.volume) },
      { deltaTime: 0, channel: ch, type: "controller", controllerType: 10, value: clamp7(part.pan) },
      { deltaTime: 0, channel: ch, type: "controller", controllerType: 91, value: clamp7(part.reverb) },
      { deltaTime: 0, channel: ch, type: "controller", controllerType: 93, value: 0 },
    ];
    // On the drum channel the program selects the kit (FluidR3 has standard, room, power, electronic,
    // TR-808, jazz and brush kits).
    head.push({ deltaTime: 0, channel: ch, type: "programChange", programNumber: part.program & 127 });
    for (const n of part.notes) {
      const start = Math.max(0, Math.round(n.tick));
      if (start >= end) continue;
      const stop = Math.min(end, start + Math.max(1, Math.round(n.dur)));
      const pitch = clamp7(n.pitch);
      timed.push({
        tick: start,
        order: 1,
        event: {
          deltaTime: 0,
          channel: ch,
          type: "noteOn",
          noteNumber: pitch,
          velocity: Math.max(1, clamp7(n.vel)),
        },
      });
      timed.push({
        tick: stop,
        order: 0,
        event: { deltaTime: 0, channel: ch, type: "noteOff", noteNumber: pitch, velocity: 0 },
      });
    }
    // Note-offs before note-ons at the same tick, so a repeated pitch is retriggered, not cut.
    timed.sort((a, b) => a.tick - b.tick || a.order - b.order);
    const events = [...head];
    let last = 0;
    for (const t of timed) {
      events.push({ ...t.event, deltaTime: t.tick - last });
      last = t.tick;
    }
    // All Sound Off at the end: otherwise fluidsynth renders every release and reverb tail to
    // silence (seconds of audio that are cut away anyway).
    events.push({
      deltaTime: Math.max(0, end - last),
      channel: ch,
      type: "controller",
      controllerType: 120,
      value: 0,
    });
    events.push({ deltaTime: 0, meta: true, type: "endOfTrack" });
    tracks.push(events);
  }
  const data: MidiData = {
    header: { format: 1, numTracks: tracks.length, ticksPerBeat: TICKS_PER_BEAT },
    tracks,
  };
  return Uint8Array.from(writeMidi(data));
}
