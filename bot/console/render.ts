/**
 * Plain-text rendering of answers, for the console mode (and anything else that wants text).
 * @module
 */
import {
  type Answer,
  answeredLine,
  durationText,
  formatEta,
  type HeardLabel,
  type HelpAnswer,
  listedWithMore,
  type PartySummaryAnswer,
  progressBar,
  progressText,
  type ReindexProgressAnswer,
  type ReindexSummaryAnswer,
  shareList,
  type SimilarAnswer,
} from "../answer.ts";

const TASK_WORD: Record<string, string> = { genre: "genre", emotion: "mood", instrument: "instrument" };

/**
 * `Hip-hop 62 % · mood Cheerful, fun 48 % · Piano 71 %`.
 *
 * @param labels What the models hear.
 * @returns One line, or an empty string.
 */
export function hearingLine(labels: readonly HeardLabel[]): string {
  return labels.map((l) => `${TASK_WORD[l.task] ?? l.task} ${l.label} ${Math.round(l.probability * 100)} %`)
    .join(" · ");
}

/**
 * Renders any answer as text.
 *
 * @param answer The answer.
 * @returns Lines joined by newlines.
 */
export function renderText(answer: Answer): string {
  switch (answer.kind) {
    case "similar":
      return renderSimilar(answer);
    case "notice":
      return `${answer.tone === "error" ? "✗" : answer.tone === "wait" ? "…" : "•"} ${answer.text}`;
    case "help":
      return renderHelp(answer);
    case "reindex_progress":
      return renderProgress(answer);
    case "reindex_summary":
      return renderSummary(answer);
    case "party_next":
      return [
        `Next for “${answer.party}”: ${answer.track.title} — ${answer.track.artist ?? "Unknown artist"}`,
        `    ${answer.reason}`,
        ...(answer.track.url ? [`    ${answer.track.url}`] : []),
      ].join("\n");
    case "party_status":
      return [
        `“${answer.name}”, started by ${answer.startedBy} ${answer.minutes} min ago: ${answer.shared} shared, ` +
        `${answer.suggested} suggested, ${answer.picked} picked`,
        ...(answer.leading.length ? [`So far it sounds like: ${hearingLine(answer.leading)}`] : []),
      ].join("\n");
    case "party_summary":
      return renderPartySummary(answer);
  }
}

/**
 * A party's summary (the playlist files are written by the caller).
 *
 * @param a The summary.
 * @returns Text.
 */
export function renderPartySummary(a: PartySummaryAnswer): string {
  const lines = [
    `“${a.name}” ${a.ended === "idle" ? "ended after a quiet spell" : "is over"}: ${a.minutes} min, ` +
    `${a.shared.length} shared, ${a.suggested} suggested, ${a.picked} picked`,
    `Leading genres: ${shareList(a.genres)}`,
    `Leading moods: ${shareList(a.moods)}`,
  ];
  lines.push(
    ...listedWithMore(a.shared, 20, (s) => `• ${s.title}${s.by ? ` (shared by ${s.by})` : ""}`).map((l) =>
      `  ${l}`
    ),
  );
  return lines.join("\n");
}

function renderSimilar(a: SimilarAnswer): string {
  const lines = [`${a.heading}${a.notes.length ? ` (${a.notes.join(" · ")})` : ""}`];
  if (a.hearing.length) lines.push(`Sounds like: ${hearingLine(a.hearing)}`);
  lines.push("");
  if (a.tracks.length === 0) {
    lines.push("No catalog track matched: the catalog may be empty or the filter too narrow.");
  }
  for (const t of a.tracks) {
    lines.push(
      `${String(t.rank).padStart(2)}. ${t.title} — ${t.artist ?? "Unknown artist"}   ${
        t.similarity.toFixed(1)
      } %`,
    );
    const details = [
      t.album,
      t.genre,
      t.durationSeconds === null ? null : durationText(t.durationSeconds),
      t.license,
    ].filter((x) => x);
    if (details.length) lines.push(`    ${details.join(" · ")}`);
    if (t.shared.length) {
      lines.push(`    shares: ${t.shared.map((s) => `${TASK_WORD[s.task]} ${s.label}`).join(", ")}`);
    }
    if (t.url) lines.push(`    ${t.url}`);
  }
  lines.push("");
  lines.push(answeredLine(a));
  return lines.join("\n");
}

function renderHelp(a: HelpAnswer): string {
  const width = Math.max(...a.commands.map((c) => c.usage.length));
  return [a.intro, "", ...a.commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.description}`), "", a.footer]
    .join("\n");
}

function renderProgress(a: ReindexProgressAnswer): string {
  return `Reindexing ${progressBar(a.percent)} ${progressText(a)}`;
}

/**
 * A reindex summary, listing at most `maxListed` skipped files.
 *
 * @param a The summary.
 * @param maxListed Skipped files listed by name. @default 10
 * @returns Text.
 */
export function renderSummary(a: ReindexSummaryAnswer, maxListed = 10): string {
  if (!a.ok) return `✗ Reindex failed after ${formatEta(a.seconds)}: ${a.error}`;
  const lines = [
    `✓ Reindex done in ${formatEta(a.seconds)}: ${a.indexedTracks} tracks in index v${a.indexVersion} ` +
    `(${a.embedded} newly embedded, ${a.cached} from the cache)`,
  ];
  const extra = [
    a.removed ? `${a.removed} removed since the last run` : "",
    a.duplicates.length ? `${a.duplicates.length} duplicate files` : "",
    a.skipped.length ? `${a.skipped.length} catalog entries skipped (files or metadata rows)` : "",
  ].filter(Boolean);
  if (extra.length) lines.push(extra.join(" · "));
  lines.push(
    ...listedWithMore(a.skipped, maxListed, (s) => `skipped ${s.item}: ${s.reason}`).map((l) => `  ${l}`),
  );
  return lines.join("\n");
}
