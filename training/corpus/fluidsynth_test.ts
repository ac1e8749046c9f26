import assert from "node:assert/strict";
import { isSoundalikeError } from "../../core/errors.ts";
import { composeGenre } from "./compose.ts";
import { encodeMp3, findSoundfont, fluidsynthAvailable, renderMidi } from "./fluidsynth.ts";
import { songToMidi } from "./song.ts";
import { parseWav } from "./wav.ts";

function soundfontOrNull(): string | null {
  try {
    return findSoundfont();
  } catch {
    return null;
  }
}

Deno.test("findSoundfont() names the Debian package when no soundfont exists", () => {
  assert.throws(
    () => findSoundfont(["/nonexistent/a.sf2"]),
    (err) => isSoundalikeError(err, "missing_tool") && err.message.includes("fluid-soundfont-gm"),
  );
});

Deno.test("renderMidi() renders a short clip to non-silent audio of the song's length", async () => {
  const sf = soundfontOrNull();
  if (!(await fluidsynthAvailable()) || sf === null) {
    console.log("skipped: fluidsynth or a General-MIDI soundfont is not installed");
    return;
  }
  const song = composeGenre("pop", 3, 3);
  const audio = await renderMidi(songToMidi(song), { soundfont: sf, sampleRate: 22050 });
  assert.equal(audio.sampleRate, 22050);
  assert.equal(audio.channels.length, 2);
  const n = audio.channels[0]!.length;
  // fluidsynth renders the MIDI's length plus a release/reverb tail of at most a few seconds.
  assert.ok(n >= 3 * 22050 * 0.98 && n <= 9 * 22050, `rendered ${n / 22050} s`);
  let sum = 0;
  for (const v of audio.channels[0]!.subarray(0, 3 * 22050)) sum += v * v;
  const rmsDb = 10 * Math.log10(sum / (3 * 22050));
  assert.ok(rmsDb > -40, `RMS ${rmsDb.toFixed(1)} dBFS`);
});

Deno.test("encodeMp3() writes an MP3 that ffmpeg tools recognise", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sr = 44100;
    const tone = Float32Array.from({ length: sr }, (_, i) => 0.2 * Math.sin(2 * Math.PI * 440 * i / sr));
    const path = `${dir}/x.mp3`;
    try {
      await encodeMp3({ sampleRate: sr, channels: [tone, tone] }, path);
    } catch (err) {
      if (isSoundalikeError(err, "missing_tool")) {
        console.log("skipped: ffmpeg is not installed");
        return;
      }
      throw err;
    }
    const bytes = await Deno.readFile(path);
    // An MPEG audio frame sync (0xFFE) at the start, or an ID3 tag.
    const id3 = bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33;
    assert.ok(id3 || (bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0));
    assert.ok(bytes.length > 20_000 && bytes.length < 60_000, `${bytes.length} bytes for 1 s at 256 kb/s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseWav() reads what fluidsynth writes (s16 stereo)", async () => {
  const sf = soundfontOrNull();
  if (!(await fluidsynthAvailable()) || sf === null) {
    console.log("skipped: fluidsynth or a General-MIDI soundfont is not installed");
    return;
  }
  const audio = await renderMidi(songToMidi({ bpm: 120, beatsPerBar: 4, seconds: 1, parts: [] }), {
    soundfont: sf,
  });
  // An empty song renders (near) silence without failing.
  assert.ok(audio.channels[0]!.every((v) => Math.abs(v) < 0.01));
  void parseWav;
});
