/**
 * A party's playlist as files people can keep: M3U (players open it) and CSV (spreadsheets),
 * with each track's page link.
 * @module
 */

/** One playlist line. */
export interface PlaylistEntry {
  /** `shared` by someone, `suggested` in a thread, or picked by `next`. */
  kind: "shared" | "suggested" | "next";
  title: string;
  artist: string | null;
  /** The track's page (FMA) or the shared link; `null` for an attachment. */
  url: string | null;
  durationSeconds: number | null;
  /** Who shared it, for shared items. */
  by: string | null;
  at: Date;
}

/**
 * The playlist as extended M3U. Entries without a URL (uploaded files) are listed as comments.
 *
 * @param name The party's name.
 * @param entries In order.
 * @returns The file's text.
 * @example
 * ```ts
 * import { toM3u } from "./playlist.ts";
 * const text = toM3u("Friday", [{ kind: "next", title: "Food", artist: "AWOL", url: "https://fma.example/food", durationSeconds: 168, by: null, at: new Date(0) }]);
 * console.assert(text.includes("#EXTINF:168,AWOL - Food\nhttps://fma.example/food"));
 * ```
 */
export function toM3u(name: string, entries: readonly PlaylistEntry[]): string {
  const lines = ["#EXTM3U", `#PLAYLIST:${oneLine(name)}`];
  for (const e of entries) {
    const label = oneLine(e.artist ? `${e.artist} - ${e.title}` : e.title);
    if (e.url === null) {
      lines.push(`# ${e.kind} by ${oneLine(e.by ?? "someone")}: ${label} (an uploaded file)`);
      continue;
    }
    lines.push(`#EXTINF:${e.durationSeconds === null ? -1 : Math.round(e.durationSeconds)},${label}`, e.url);
  }
  return lines.join("\n") + "\n";
}

/**
 * The playlist as CSV (RFC 4180 quoting), one row per entry.
 *
 * @param entries In order.
 * @returns The file's text.
 */
export function toCsv(entries: readonly PlaylistEntry[]): string {
  const rows = [["position", "kind", "title", "artist", "url", "duration_seconds", "shared_by", "time"]];
  entries.forEach((e, i) =>
    rows.push([
      String(i + 1),
      e.kind,
      e.title,
      e.artist ?? "",
      e.url ?? "",
      e.durationSeconds === null ? "" : String(Math.round(e.durationSeconds)),
      e.by ?? "",
      e.at.toISOString(),
    ])
  );
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function csvField(value: string): string {
  // A leading =, +, - or @ would run as a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").trim();
}
