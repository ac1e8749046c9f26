import assert from "node:assert/strict";
import { encodeWav16, parseWav } from "./wav.ts";

Deno.test("encodeWav16() and parseWav() round-trip 16-bit stereo within one LSB", () => {
  const left = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.9);
  const right = Float32Array.from({ length: 100 }, (_, i) => Math.cos(i / 7) * 0.5);
  const bytes = encodeWav16({ sampleRate: 22050, channels: [left, right] });
  assert.equal(bytes.length, 44 + 100 * 2 * 2);
  const back = parseWav(bytes);
  assert.equal(back.sampleRate, 22050);
  assert.equal(back.channels.length, 2);
  for (let i = 0; i < 100; i++) {
    assert.ok(Math.abs(back.channels[0]![i]! - left[i]!) < 1 / 16000);
    assert.ok(Math.abs(back.channels[1]![i]! - right[i]!) < 1 / 16000);
  }
});

Deno.test("encodeWav16() clips out-of-range samples", () => {
  const back = parseWav(encodeWav16({ sampleRate: 8000, channels: [new Float32Array([2, -2])] }));
  assert.ok(back.channels[0]![0]! > 0.999);
  assert.ok(back.channels[0]![1]! < -0.999);
});

Deno.test("parseWav() rejects bytes that are not WAV", () => {
  assert.throws(() => parseWav(new TextEncoder().encode("hello world, not a wave")), RangeError);
});
