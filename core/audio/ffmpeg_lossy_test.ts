// encodeLossy() (core/audio/ffmpeg.ts), in its own file so the shared ffmpeg_test.ts is left to its owners.
import assert from "node:assert/strict";
import { decodeAudio, encodeLossy } from "./ffmpeg.ts";

const SR = 44100;
const tone = Float32Array.from({ length: 2 * SR }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 440 * i) / SR));

/** Frequency of a steady tone from its rising zero crossings. */
function zeroCrossingHz(x: Float32Array, sr: number): number {
  let n = 0;
  for (let i = 1; i < x.length; i++) if (x[i - 1]! < 0 && x[i]! >= 0) n++;
  return (n * sr) / x.length;
}

Deno.test("encodeLossy() writes Ogg Opus at the asked bit rate that decodes back to the tone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tone.opus`;
    await encodeLossy({ sampleRate: SR, channels: [tone] }, path, { codec: "opus", bitrateKbps: 48 });
    const bytes = await Deno.readFile(path);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "OggS");
    assert.ok(new TextDecoder("latin1").decode(bytes.subarray(0, 200)).includes("OpusHead"));
    // 2 s at 48 kbit/s is 12000 bytes; constrained VBR and the Ogg pages add a little
    assert.ok(bytes.length > 9_000 && bytes.length < 16_000, `${bytes.length} bytes`);
    const audio = await decodeAudio(path, { sampleRate: 16000 });
    assert.ok(Math.abs(audio.seconds - 2) < 0.05, `${audio.seconds} s`);
    assert.ok(Math.abs(zeroCrossingHz(audio.samples.subarray(800, 31000), 16000) - 440) < 10);

    const mp3 = `${dir}/tone.mp3`;
    await encodeLossy({ sampleRate: SR, channels: [tone] }, mp3, { codec: "mp3", bitrateKbps: 96 });
    const size = (await Deno.stat(mp3)).size;
    assert.ok(size > 22_000 && size < 26_000, `${size} bytes for 2 s at 96 kbit/s`);
    await assert.rejects(
      encodeLossy({ sampleRate: SR, channels: [tone] }, `${dir}/x`, { codec: "opus", bitrateKbps: 0 }),
      RangeError,
    );
    await assert.rejects(
      encodeLossy({ sampleRate: SR, channels: [tone] }, `${dir}/missing/x.opus`, {
        codec: "opus",
        bitrateKbps: 64,
      }),
      /could not encode .* as Opus/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
