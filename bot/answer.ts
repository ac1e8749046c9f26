/**
 * The platform-neutral answer model: what a handler returns and what the Discord, Slack and console
 * adapters render (embeds, Block Kit, text). Nothing here knows a platform.
 * @module
 */
import {
  confidentClasses,
  formatClock,
  type ModelHearing,
  type ModelTask,
  type Recommendation,
  type StoredLabel,
} from "../core/mod.ts";

/** The best class of one model, as shown to users. */
export interface HeardLabel {
  task: ModelTask;
  /** The model's class name, e.g. `hiphop`, `cluster2`. */
  className: string;
  /** A readable name, e.g. `Hip-hop`, `Cheerful, fun`. */
  label: string;
  /** 0..1. */
  probability: number;
}

/** One result card. */
export interface TrackAnswer extends Recommendation {
  /** What this track shares with the query (labels of {@linkcode SimilarAnswer.hearing}), if known. */
  shared: HeardLabel[];
}

/** Five (or k) similar tracks. */
export interface SimilarAnswer {
  kind: "similar";
  /** What was searched, e.g. `a clip (song.mp3)` or `More like #2: Food by AWOL`. */
  heading: string;
  /** The top class of each model for the query (empty when unknown). */
  hearing: HeardLabel[];
  tracks: TrackAnswer[];
  /** Short remarks: the start offset used, the genre filter, a clip read only up to the limit. */
  notes: string[];
  /** Milliseconds from the request to the answer. */
  elapsedMs: number;
  index: "flat" | "ivf";
  indexVersion: number;
  /** `clip` (whole clip vectors) or `segment` (window vectors). */
  method: "clip" | "segment";
}

/**
 * The answer's footer: time taken, and what answered.
 *
 * @param a The answer.
 * @returns E.g. `Answered in 0.42 s · flat index v3` (`· segment search` for segment search).
 */
export function answeredLine(a: SimilarAnswer): string {
  const how = a.method === "segment" ? " · segment search" : "";
  return `Answered in ${(a.elapsedMs / 1000).toFixed(2)} s · ${a.index} index v${a.indexVersion}${how}`;
}

/** Stable identifiers of notices, for logs and tests. */
export type NoticeCode =
  | "bad_request"
  | "busy"
  | "rate_limited"
  | "forbidden"
  | "queued"
  | "working"
  | "unavailable"
  | "failed"
  | string;

/** A short message: an error a user can fix, a refusal, or a wait. */
export interface NoticeAnswer {
  kind: "notice";
  tone: "error" | "info" | "wait";
  code: NoticeCode;
  text: string;
}

/** One command as the help lists it. */
export interface HelpEntry {
  usage: string;
  description: string;
}

/** The help text. */
export interface HelpAnswer {
  kind: "help";
  intro: string;
  commands: HelpEntry[];
  /** Catalog size and index version, when known. */
  footer: string;
}

/** A reindex in progress. */
export interface ReindexProgressAnswer {
  kind: "reindex_progress";
  /** `reading the catalog`, `hashing`, `embedding`, `publishing`. */
  stage: string;
  done: number;
  total: number;
  /** Overall progress, 0..100. */
  percent: number;
  /** Seconds left in this stage, when it can be estimated. */
  etaSeconds: number | undefined;
  startedBy: string;
}

/** One catalog entry a reindex left out (a file, or a metadata row naming no usable file), and why. */
export interface SkippedFile {
  item: string;
  reason: string;
}

/** A finished reindex. */
export interface ReindexSummaryAnswer {
  kind: "reindex_summary";
  ok: boolean;
  /** One sentence when it failed. */
  error: string | undefined;
  indexedTracks: number;
  embedded: number;
  cached: number;
  removed: number;
  duplicates: SkippedFile[];
  skipped: SkippedFile[];
  indexVersion: number | undefined;
  seconds: number;
}

/** What a party should play next, and why. */
export interface PartyNextAnswer {
  kind: "party_next";
  party: string;
  track: Recommendation;
  reason: string;
}

/** A party's figures. */
export interface PartyStatusAnswer {
  kind: "party_status";
  name: string;
  startedBy: string;
  minutes: number;
  shared: number;
  suggested: number;
  picked: number;
  /**
   * The leading label of each model so far (empty before anything was shared); its `probability`
   * is the label's weighted share of what was shared.
   */
  leading: HeardLabel[];
}

/** A file an answer carries (a playlist). */
export interface AnswerFile {
  name: string;
  /** MIME type. */
  type: string;
  content: string;
}

/** A party's end: what was shared and suggested, its leading genres and moods, and the playlist files. */
export interface PartySummaryAnswer {
  kind: "party_summary";
  name: string;
  startedBy: string;
  /** `stopped` by someone, or ended after being `idle`. */
  ended: "stopped" | "idle";
  minutes: number;
  /** What people shared, in order (titles). */
  shared: { title: string; by: string | null; url: string | null }[];
  suggested: number;
  picked: number;
  /** Leading genres and moods with their shares (0..1), most first. */
  genres: { label: string; share: number }[];
  moods: { label: string; share: number }[];
  files: AnswerFile[];
}

/** Everything a handler can answer. */
export type Answer =
  | SimilarAnswer
  | NoticeAnswer
  | HelpAnswer
  | ReindexProgressAnswer
  | ReindexSummaryAnswer
  | PartyNextAnswer
  | PartyStatusAnswer
  | PartySummaryAnswer;

/**
 * A notice.
 *
 * @param tone `error`, `info` or `wait`.
 * @param code A stable identifier.
 * @param text One friendly sentence.
 * @returns The {@linkcode NoticeAnswer}.
 */
export function notice(tone: NoticeAnswer["tone"], code: NoticeCode, text: string): NoticeAnswer {
  // A sentence quoting what a user shared (a 2,000-character link) must still fit one chat message.
  const fits = text.length <= MAX_NOTICE_CHARS ? text : `${text.slice(0, MAX_NOTICE_CHARS - 1)}…`;
  return { kind: "notice", tone, code, text: fits };
}

/** Longest notice text: well inside Discord's 2,000 characters and Slack's 3,000 per section. */
export const MAX_NOTICE_CHARS = 600;

const GENRE_LABELS: Record<string, string> = { hiphop: "Hip-hop", rnb: "R&B" };

/**
 * MIREX mood clusters by their adjectives (Hu & Downie's five clusters, as used by the mood set).
 */
export const MOOD_LABELS: Readonly<Record<string, string>> = Object.freeze({
  cluster1: "Passionate, rousing",
  cluster2: "Cheerful, fun",
  cluster3: "Wistful, bittersweet",
  cluster4: "Witty, whimsical",
  cluster5: "Fiery, intense",
});

const INSTRUMENT_LABELS: Record<string, string> = { drum: "Drums" };

/**
 * A readable name for a model class.
 *
 * @param task The model.
 * @param className The manifest's class name.
 * @returns E.g. `Hip-hop`, `Cheerful, fun`, `Drums`, or the name capitalised.
 * @example
 * ```ts
 * import { classLabel } from "./answer.ts";
 * console.assert(classLabel("emotion", "cluster2") === "Cheerful, fun");
 * console.assert(classLabel("genre", "rock") === "Rock");
 * ```
 */
export function classLabel(task: ModelTask, className: string): string {
  const table = task === "genre" ? GENRE_LABELS : task === "emotion" ? MOOD_LABELS : INSTRUMENT_LABELS;
  return table[className] ?? className.charAt(0).toUpperCase() + className.slice(1);
}

/**
 * Stored labels (task, class, probability) as shown to users.
 *
 * @param labels As stored by reindex or a party.
 * @returns The same with readable names.
 */
export function heardLabels(
  labels: readonly StoredLabel[],
): HeardLabel[] {
  return labels.map((l) => ({ ...l, label: classLabel(l.task, l.className) }));
}

/**
 * The best class of each model that is confident enough to be shown (calibrated probability at least
 * the model's `minConfidence`, see core's `confidentClasses`).
 *
 * @param hearing What the embedder heard.
 * @returns One label per confident model, in model order.
 */
export function topLabels(hearing: readonly ModelHearing[]): HeardLabel[] {
  return heardLabels(confidentClasses(hearing));
}

/** What {@linkcode similarAnswer} is built from. */
export interface SimilarAnswerInput {
  heading: string;
  hearing: HeardLabel[];
  recommendations: Recommendation[];
  /** Each track's own top labels, when stored. */
  trackLabels?: ReadonlyMap<number, readonly HeardLabel[]>;
  notes?: string[];
  elapsedMs: number;
  index: "flat" | "ivf";
  indexVersion: number;
  method: "clip" | "segment";
}

/**
 * Builds a {@linkcode SimilarAnswer}, marking on each track the labels it shares with the query.
 *
 * @param input The search result and its context.
 * @returns The answer.
 */
export function similarAnswer(input: SimilarAnswerInput): SimilarAnswer {
  const wanted = new Map(input.hearing.map((h) => [h.task, h.className]));
  return {
    kind: "similar",
    heading: input.heading,
    hearing: input.hearing,
    tracks: input.recommendations.map((r) => ({
      ...r,
      shared: (input.trackLabels?.get(r.trackId) ?? []).filter((l) => wanted.get(l.task) === l.className),
    })),
    notes: input.notes ?? [],
    elapsedMs: input.elapsedMs,
    index: input.index,
    indexVersion: input.indexVersion,
    method: input.method,
  };
}

/**
 * A text progress bar of `width` cells.
 *
 * @param percent 0..100.
 * @param width Cells. @default 20
 * @returns E.g. `▓▓▓▓░░░░`.
 */
export function progressBar(percent: number, width = 20): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return "▓".repeat(filled) + "░".repeat(width - filled);
}

/**
 * `1:05`-style durations and `2 min 5 s`-style ETAs.
 *
 * @param seconds Seconds.
 * @returns Short text.
 */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * A reindex's progress in words, as every platform shows it after its own icon and bar.
 *
 * @param a The progress.
 * @returns E.g. `42 % · embedding 420/1000 · ETA 1 min 5 s`.
 * @example
 * ```ts
 * import { progressText } from "./answer.ts";
 * const a = { kind: "reindex_progress", stage: "embedding", done: 3, total: 4, percent: 75.5,
 *   etaSeconds: 5, startedBy: "ana" } as const;
 * console.assert(progressText(a) === "75 % · embedding 3/4 · ETA 5 s");
 * ```
 */
export function progressText(a: ReindexProgressAnswer): string {
  const count = a.total > 0 ? ` ${a.done}/${a.total}` : "";
  const eta = a.etaSeconds === undefined ? "" : ` · ETA ${formatEta(a.etaSeconds)}`;
  return `${Math.floor(a.percent)} % · ${a.stage}${count}${eta}`;
}

/**
 * A track's length as cards show it.
 *
 * @param seconds The length, or `null` when unknown.
 * @returns `m:ss`, or `—` when unknown.
 */
export function durationText(seconds: number | null): string {
  return seconds === null ? "—" : formatClock(seconds, "nearest");
}

/**
 * Labels with their shares, e.g. a party's leading genres.
 *
 * @param xs Labels and shares (0..1), most first.
 * @param escape Escapes a label for the platform's markup. @default the label unchanged
 * @returns `Rock 40 %, Jazz 20 %`, or `—` when empty.
 */
export function shareList(
  xs: readonly { label: string; share: number }[],
  escape: (s: string) => string = (s) => s,
): string {
  return xs.map((x) => `${escape(x.label)} ${Math.round(x.share * 100)} %`).join(", ") || "—";
}

/**
 * The first `max` items as lines, and `… and N more` for the rest.
 *
 * @param items The items.
 * @param max How many are listed.
 * @param line One item's line.
 * @returns At most `max + 1` lines.
 * @example
 * ```ts
 * import { listedWithMore } from "./answer.ts";
 * const lines = listedWithMore(["a", "b", "c"], 2, (x) => `• ${x}`);
 * console.assert(lines.join("|") === "• a|• b|… and 1 more");
 * ```
 */
export function listedWithMore<T>(items: readonly T[], max: number, line: (item: T) => string): string[] {
  const lines = items.slice(0, max).map(line);
  if (items.length > max) lines.push(`… and ${items.length - max} more`);
  return lines;
}
