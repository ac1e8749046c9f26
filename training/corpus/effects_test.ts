import assert from "node:assert/strict";
import { applyEffects, drawEffects } from "./effects.ts";
import { createRng } from "./prng.ts";

const tone = (n: number, sr: number) =>
  Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 440 * i / sr));

Deno.test("applyEffects() cuts or pads to the exact length and mixes to mono", () => {
  const sr = 8000;
  const audio = { sampleRate: sr, channels: [tone(sr * 3, sr), tone(sr * 3, sr)] };
  const fx = drawEffects(createRng(1));
  const short = applyEffects(audio, fx, 2, 1, createRng(2));
  assert.equal(short.channels.length, 1);
  assert.equal(short.channels[0]!.length, 2 * sr);
  const long = applyEffects(audio, fx, 5, 2, createRng(2));
  assert.equal(long.channels.length, 2);
  assert.equal(long.channels[1]!.length, 5 * sr);
});

Deno.test("applyEffects() normalises the peak to the drawn level and is deterministic", () => {
  const sr = 8000;
  const audio = { sampleRate: sr, channels: [tone(sr * 2, sr)] };
  const fx = { ...drawEffects(createRng(3)), noiseDb: -120 };
  const a = applyEffects(audio, fx, 2, 1, createRng(4));
  const b = applyEffects(audio, fx, 2, 1, createRng(4));
  assert.deepEqual(a.channels[0], b.channels[0]);
  let peak = 0;
  for (const v of a.channels[0]!) peak = Math.max(peak, Math.abs(v));
  assert.ok(Math.abs(20 * Math.log10(peak) - fx.peakDb) < 0.1, `peak ${peak} vs ${fx.peakDb} dB`);
});

Deno.test("drawEffects() varies between clips", () => {
  const a = drawEffects(createRng(1)), b = drawEffects(createRng(2));
  assert.notDeepEqual(a, b);
  assert.ok(a.peakDb <= -1 && a.noiseDb <= -50);
});
