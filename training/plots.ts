/**
 * A tiny SVG writer for the evaluation images: a confusion-matrix heatmap and training curves.
 * No dependencies; the output is plain SVG 1.1 that browsers and GitHub render.
 * @module
 */
import type { EpochRecord } from "./run_dir.ts";

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}" ${attrs}>${escapeXml(s)}</text>`;
}

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** White to dark blue for a share in [0, 1]. */
function blue(share: number): string {
  const s = Math.max(0, Math.min(1, share));
  const c = (from: number, to: number) => Math.round(from + (to - from) * s);
  return `rgb(${c(247, 8)},${c(251, 48)},${c(255, 107)})`;
}

/**
 * A confusion-matrix heatmap: rows are true classes, columns predictions; each cell shows its count,
 * coloured by its share of the row (so the diagonal reads as per-class recall).
 *
 * @param matrix `matrix[true][predicted]` counts.
 * @param labels Class names.
 * @param title Heading.
 * @returns SVG text.
 */
export function confusionMatrixSvg(
  matrix: readonly (readonly number[])[],
  labels: readonly string[],
  title: string,
): string {
  const n = labels.length;
  if (matrix.length !== n || matrix.some((r) => r.length !== n)) {
    throw new RangeError("Matrix and labels disagree");
  }
  const cell = n > 8 ? 40 : 56;
  const left = 20 + Math.max(...labels.map((l) => l.length)) * 7.5;
  const top = 50, bottom = 20 + Math.max(...labels.map((l) => l.length)) * 6 + 30;
  const width = Math.ceil(left + n * cell + 30), height = Math.ceil(top + n * cell + bottom);
  const body: string[] = [
    text(width / 2, 24, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
  ];
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    body.push(text(left - 6, top + i * cell + cell / 2 + 4, labels[i]!, 'text-anchor="end"'));
    row.forEach((v, j) => {
      const share = total > 0 ? v / total : 0;
      const x = left + j * cell, y = top + i * cell;
      body.push(
        `<rect x="${fmt(x)}" y="${y}" width="${cell}" height="${cell}" fill="${blue(share)}" stroke="#ccc"/>`,
      );
      body.push(
        text(
          x + cell / 2,
          y + cell / 2 + 4,
          String(v),
          `text-anchor="middle" fill="${share > 0.5 ? "white" : "black"}"`,
        ),
      );
    });
  });
  labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2, y = top + n * cell + 8;
    body.push(text(x, y, l, `text-anchor="end" transform="rotate(-45 ${fmt(x)} ${y})"`));
  });
  body.push(
    text(
      12,
      top + (n * cell) / 2,
      "true",
      `transform="rotate(-90 12 ${top + (n * cell) / 2})" text-anchor="middle"`,
    ),
  );
  body.push(text(left + (n * cell) / 2, height - 8, "predicted", 'text-anchor="middle"'));
  return svg(width, height, body);
}

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

function linePanel(x0: number, y0: number, w: number, h: number, title: string, series: Series[]): string[] {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => y);
  const xMin = Math.min(1, ...xs), xMax = Math.max(xMin + 1, ...xs);
  let yMin = Math.min(...ys), yMax = Math.max(...ys);
  if (!Number.isFinite(yMin)) (yMin = 0), (yMax = 1);
  if (yMax - yMin < 1e-9) (yMin -= 0.5), (yMax += 0.5);
  const pad = (yMax - yMin) * 0.05;
  yMin -= pad;
  yMax += pad;
  const px = (x: number) => x0 + ((x - xMin) / (xMax - xMin)) * w;
  const py = (y: number) => y0 + h - ((y - yMin) / (yMax - yMin)) * h;
  const out: string[] = [
    text(x0 + w / 2, y0 - 10, title, 'text-anchor="middle" font-weight="bold"'),
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#444"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const y = yMin + ((yMax - yMin) * k) / 4;
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${fmt(py(y))}" y2="${fmt(py(y))}" stroke="#eee"/>`);
    out.push(text(x0 - 4, py(y) + 4, y.toFixed(3), 'text-anchor="end" font-size="10"'));
  }
  const step = Math.max(1, Math.ceil((xMax - xMin) / 10));
  for (let x = Math.ceil(xMin); x <= xMax; x += step) {
    out.push(text(px(x), y0 + h + 14, String(x), 'text-anchor="middle" font-size="10"'));
  }
  out.push(text(x0 + w / 2, y0 + h + 30, "epoch", 'text-anchor="middle"'));
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length > 0) {
      const d = pts.map(([x, y], k) => `${k === 0 ? "M" : "L"}${fmt(px(x))},${fmt(py(y))}`).join(" ");
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      for (const [x, y] of pts) {
        out.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="2.5" fill="${s.color}"/>`);
      }
    }
    const ly = y0 + 14 + i * 16;
    out.push(
      `<line x1="${x0 + w - 110}" x2="${x0 + w - 90}" y1="${ly - 4}" y2="${
        ly - 4
      }" stroke="${s.color}" stroke-width="2"/>`,
    );
    out.push(text(x0 + w - 85, ly, s.name));
  });
  return out;
}

/**
 * Training curves: loss and accuracy per epoch, training vs validation, side by side.
 *
 * @param epochs The run's history.
 * @param title Heading.
 * @returns SVG text.
 */
export function trainingCurvesSvg(epochs: readonly EpochRecord[], title: string): string {
  const series = (
    key: "loss" | "valLoss" | "accuracy" | "valAccuracy",
    name: string,
    color: string,
  ): Series => ({
    name,
    color,
    points: epochs.map((e) => [e.epoch, e[key]]),
  });
  const body = [
    text(460, 22, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    ...linePanel(60, 60, 360, 240, "loss", [
      series("loss", "train", "#1f77b4"),
      series("valLoss", "validation", "#ff7f0e"),
    ]),
    ...linePanel(520, 60, 360, 240, "accuracy", [
      series("accuracy", "train", "#1f77b4"),
      series("valAccuracy", "validation", "#ff7f0e"),
    ]),
  ];
  return svg(920, 350, body);
}

/** Ten distinguishable colours (the Tableau 10 palette), for class labels. */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/**
 * A 2-D scatter plot of labelled points (a PCA map of embeddings), one colour per label with a legend.
 *
 * @param points `[x, y]` per point.
 * @param labels The label of each point.
 * @param title Heading.
 * @param axes Axis captions. @default ["PC 1", "PC 2"]
 * @returns SVG text.
 */
export function scatterSvg(
  points: readonly (readonly number[])[],
  labels: readonly string[],
  title: string,
  axes: readonly [string, string] = ["PC 1", "PC 2"],
): string {
  if (points.length !== labels.length) throw new RangeError("One label per point is needed");
  const classes = [...new Set(labels)].sort();
  const color = (l: string) => PALETTE[classes.indexOf(l) % PALETTE.length]!;
  const x0 = 60, y0 = 50, w = 460, h = 400;
  const xs = points.map((p) => p[0]!), ys = points.map((p) => p[1]!);
  const range = (v: number[]) => {
    const lo = Math.min(...v), hi = Math.max(...v);
    return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
  };
  const [xl, xh] = range(xs), [yl, yh] = range(ys);
  const px = (v: number) => x0 + ((v - xl!) / (xh! - xl!)) * w;
  const py = (v: number) => y0 + h - ((v - yl!) / (yh! - yl!)) * h;
  const body = [
    text(x0 + w / 2 + 80, 24, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
    text(x0 + w / 2, y0 + h + 28, axes[0], 'text-anchor="middle"'),
    text(20, y0 + h / 2, axes[1], `text-anchor="middle" transform="rotate(-90 20 ${y0 + h / 2})"`),
    ...points.map((p, i) =>
      `<circle cx="${fmt(px(p[0]!))}" cy="${fmt(py(p[1]!))}" r="4" fill="${
        color(labels[i]!)
      }" fill-opacity="0.75"/>`
    ),
    ...classes.flatMap((c, k) => [
      `<circle cx="${x0 + w + 25}" cy="${y0 + 10 + k * 20}" r="5" fill="${color(c)}"/>`,
      text(x0 + w + 36, y0 + 14 + k * 20, `${c} (${labels.filter((l) => l === c).length})`),
    ]),
  ];
  return svg(x0 + w + 200, y0 + h + 45, body);
}
