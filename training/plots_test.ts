import assert from "node:assert/strict";
import { confusionMatrixSvg, escapeXml, scatterSvg, trainingCurvesSvg } from "./plots.ts";

Deno.test("confusionMatrixSvg() draws one cell per pair with counts and escaped labels", () => {
  const svg = confusionMatrixSvg([[5, 1], [0, 3]], ["rock & roll", "<jazz>"], "genre");
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 4);
  assert.ok(svg.includes("rock &amp; roll") && svg.includes("&lt;jazz&gt;"));
  for (const v of ["5", "1", "0", "3"]) assert.ok(svg.includes(`>${v}</text>`), v);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.throws(() => confusionMatrixSvg([[1]], ["a", "b"], "x"), RangeError);
});

Deno.test("trainingCurvesSvg() draws train and validation lines for loss and accuracy", () => {
  const e = (epoch: number, loss: number) => ({
    epoch,
    loss,
    accuracy: 1 - loss / 2,
    valLoss: loss + 0.1,
    valAccuracy: 0.9 - loss / 2,
    seconds: 1,
    examplesPerSecond: 10,
  });
  const svg = trainingCurvesSvg([e(1, 1.2), e(2, 0.8), e(3, 0.5)], "curves");
  assert.equal((svg.match(/<path /g) ?? []).length, 4);
  assert.equal((svg.match(/<circle /g) ?? []).length, 12);
  assert.ok(
    svg.includes(">validation</text>") && svg.includes(">loss</text>") && svg.includes(">accuracy</text>"),
  );
  // a single epoch and NaN validation (no validation split) still give a valid image
  const one = trainingCurvesSvg([{ ...e(1, 1), valLoss: NaN, valAccuracy: NaN }], "x");
  assert.ok(!one.includes("NaN"));
  assert.equal(escapeXml(`"a"<&>`), "&quot;a&quot;&lt;&amp;&gt;");
});

Deno.test("scatterSvg() draws one dot per point coloured by label, with a counted legend", () => {
  const svg = scatterSvg([[0, 0], [1, 2], [2, 1], [3, 3]], ["b", "a", "b", "a&c"], "map");
  assert.equal((svg.match(/<circle cx=/g) ?? []).length, 4 + 3);
  assert.ok(svg.includes(">b (2)</text>") && svg.includes(">a&amp;c (1)</text>"));
  // the two "b" dots share a colour that differs from "a"
  const fills = [...svg.matchAll(/r="4" fill="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(fills[0], fills[2]);
  assert.notEqual(fills[0], fills[1]);
  assert.throws(() => scatterSvg([[0, 0]], [], "x"), RangeError);
});
