import assert from "node:assert/strict";
import { pca } from "./pca.ts";
import { seededRandom } from "./split.ts";

Deno.test("pca() recovers two planted directions with their variance shares", () => {
  const random = seededRandom(5);
  const d = 50;
  const e1 = Float32Array.from({ length: d }, (_, j) => (j === 3 ? 1 : 0));
  const e2 = Float32Array.from(
    { length: d },
    (_, j) => (j === 7 ? Math.SQRT1_2 : j === 8 ? -Math.SQRT1_2 : 0),
  );
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rows: Float32Array[] = [];
  const truth: [number, number][] = [];
  for (let i = 0; i < 300; i++) {
    const a = 5 * gauss(), b = 2 * gauss();
    truth.push([a, b]);
    rows.push(Float32Array.from({ length: d }, (_, j) => 10 + a * e1[j]! + b * e2[j]! + 0.05 * gauss()));
  }
  const { coords, explained } = pca(rows);
  // variance shares close to 25 / (25 + 4 + noise) and 4 / (...)
  assert.ok(Math.abs(explained[0]! - 25 / 29.1) < 0.05, `${explained}`);
  assert.ok(Math.abs(explained[1]! - 4 / 29.1) < 0.05, `${explained}`);
  // the coordinates are the planted ones up to sign and the centring
  const corr = (k: 0 | 1) => {
    const x = coords.map((c) => c[k]!), y = truth.map((t) => t[k]);
    const mx = x.reduce((a, b) => a + b) / x.length, my = y.reduce((a, b) => a + b) / y.length;
    let sxy = 0, sxx = 0, syy = 0;
    x.forEach((v, i) => {
      sxy += (v - mx) * (y[i]! - my);
      sxx += (v - mx) ** 2;
      syy += (y[i]! - my) ** 2;
    });
    return Math.abs(sxy / Math.sqrt(sxx * syy));
  };
  assert.ok(corr(0) > 0.999 && corr(1) > 0.99, `${corr(0)} ${corr(1)}`);
  assert.throws(() => pca([new Float32Array(3)]), RangeError);
});
