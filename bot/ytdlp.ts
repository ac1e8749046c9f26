/**
 * yt-dlp, the only module that runs it: a subprocess, never a shell, `--ignore-config`, the URL
 * after `--`, no playlists. yt-dlp only *describes* a link (`--dump-single-json`, no download), with
 * the one audio format we would fetch: a single file over http(s) (streams in pieces, HLS or DASH,
 * are refused). Playlists, live streams, media longer or larger than the limits and media on
 * private addresses are refused from that description. The file itself is then downloaded by
 * `bot/download.ts`, not by yt-dlp, so every redirect is checked against the private-address rule,
 * the size limit holds while the body streams (with or without a Content-Length), and the wall-clock
 * limit covers the transfer. The file goes to a fresh temporary folder, always removed. yt-dlp's own
 * requests (the page, a site's API) go through a local proxy that applies the private-address rule
 * to each connection and connects to the address it checked (`bot/checked_proxy.ts`).
 * @module
 */
import { basename } from "node:path";
import { ErrorCode, SoundalikeError } from "../core/mod.ts";
import { type CheckedProxy, startCheckedProxy } from "./checked_proxy.ts";
import { withDownload } from "./download.ts";
import { checkTargetAddress, type LinkPolicy } from "./links.ts";

/** How yt-dlp is run. */
export interface YtDlpOptions {
  /** The executable. @default "yt-dlp" */
  path?: string;
  /** Longest accepted media, in seconds. */
  maxSeconds: number;
  /** Largest accepted download, in bytes. */
  maxBytes: number;
  /** Wall-clock limit of each yt-dlp run, in milliseconds. */
  timeoutMs: number;
  /** Checks the hosts media are downloaded from (the page may be allowed, the media host too). */
  policy: LinkPolicy;
  signal?: AbortSignal;
}

/** What yt-dlp says about a link. */
export interface MediaInfo {
  title: string;
  /** Seconds, when the site says. */
  duration: number | undefined;
  /** The page's canonical URL. */
  webpageUrl: string;
  uploader: string | undefined;
  extractor: string;
}

/** A downloaded medium. */
export interface FetchedMedia extends MediaInfo {
  /** The audio file, inside a temporary folder that is removed after the callback. */
  path: string;
}

interface RawInfo {
  _type?: string;
  entries?: unknown[];
  title?: string;
  duration?: number;
  is_live?: boolean;
  live_status?: string;
  was_live?: boolean;
  filesize?: number;
  filesize_approx?: number;
  webpage_url?: string;
  original_url?: string;
  uploader?: string;
  channel?: string;
  extractor_key?: string;
  extractor?: string;
  url?: string;
  protocol?: string;
  ext?: string;
  http_headers?: Record<string, string>;
  requested_downloads?: RawFormat[];
  /** Present when yt-dlp would merge several formats (video + audio): never asked for here. */
  requested_formats?: RawFormat[];
}

interface RawFormat {
  url?: string;
  protocol?: string;
  ext?: string;
  filesize?: number;
  filesize_approx?: number;
  http_headers?: Record<string, string>;
}

/** The media file a description points at. */
interface MediaFile {
  url: string;
  ext: string;
  headers: Record<string, string>;
}

/**
 * The one audio format fetched: the best audio-only file, else the best single file, over plain
 * http(s) (not HLS, DASH or other pieces), so one GET with checked redirects fetches it whole.
 */
const FORMAT = "bestaudio[protocol^=http][protocol!*=dash]/best[protocol^=http][protocol!*=dash]";

const COMMON = [
  "--ignore-config",
  "--no-playlist",
  "--no-warnings",
  "--no-cache-dir",
  "--socket-timeout",
  "15",
];

/** Runs yt-dlp on `url` (after `--`) with `args`, its connections through the checked proxy. */
async function run(args: string[], url: string, options: YtDlpOptions): Promise<string> {
  // yt-dlp's own requests (the page, a site's API) go through a local proxy that refuses private
  // addresses and connects to the address it checked, as our downloads do: yt-dlp never looks a
  // name up itself, so a name that answers differently the second time (DNS rebinding) gets nowhere.
  const proxy = startCheckedProxy(async (host, port, scheme) =>
    (await checkTargetAddress(`${scheme}://${host}:${port}/`, { ...options.policy, allowedHosts: ["*"] }))
      .address ?? host
  );
  try {
    return await runThrough(proxy, [...args, "--proxy", proxy.url, "--", url], options);
  } finally {
    await proxy.close();
  }
}

async function runThrough(proxy: CheckedProxy, args: string[], options: YtDlpOptions): Promise<string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(options.path ?? "yt-dlp", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SoundalikeError(
        ErrorCode.MissingTool,
        "yt-dlp is not installed, so links cannot be fetched: install it (apt-get install yt-dlp) or set SOUNDALIKE_YTDLP_PATH",
      );
    }
    throw err;
  }
  // The limit is kept by not waiting past it: a process yt-dlp started (and that holds its pipes)
  // must not keep the answer waiting after yt-dlp itself is killed.
  const output = child.output();
  output.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<"timeout" | "aborted">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
    onAbort = () => resolve("aborted");
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
  const out = await Promise.race([output, stopped]).finally(() => {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
  });
  if (out === "timeout" || out === "aborted") {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    if (out === "aborted") throw options.signal!.reason;
    throw new SoundalikeError(
      ErrorCode.DownloadFailed,
      `Fetching the link took longer than ${
        Math.round(options.timeoutMs / 1000)
      } s: share a shorter piece, or the file`,
    );
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    const refused = proxy.refusals[0];
    if (refused !== undefined) {
      throw new SoundalikeError(
        ErrorCode.DownloadRefused,
        `The media behind that link is not fetched: ${refused.message}`,
      );
    }
    // yt-dlp's own line, without its request to report bugs upstream or the Python cause.
    const reason = /ERROR: (?:\[[^\]]+\] )?(?:[\w-]+: )?(.+)/.exec(stderr)?.[1]
      ?.replace(/;? *please report this issue.*$/i, "").replace(/ *\(caused by .*$/i, "").trim().slice(
        0,
        200,
      );
    if (/Unsupported URL/i.test(stderr)) {
      throw new SoundalikeError(
        ErrorCode.DownloadRefused,
        "That site is not supported: share a link to a song's page or file",
      );
    }
    if (/Requested format is not available/i.test(stderr)) {
      throw new SoundalikeError(
        ErrorCode.DownloadRefused,
        "That site only streams its audio in pieces (HLS or DASH), which I don't fetch: share the file",
      );
    }
    throw new SoundalikeError(
      ErrorCode.DownloadFailed,
      `The link could not be fetched${
        reason ? ` (${reason.replace(/\.$/, "")})` : ""
      }: check it, or share the file`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

function tooLarge(maxBytes: number): SoundalikeError {
  return new SoundalikeError(
    ErrorCode.FileTooLarge,
    `That media is larger than ${Math.round(maxBytes / (1024 * 1024))} MB: share a shorter piece`,
  );
}

/**
 * Asks yt-dlp what a link is, without downloading, and applies the limits.
 *
 * @param url A link already checked by `checkLink`.
 * @param options Limits and the executable.
 * @returns The media's description.
 * @throws {SoundalikeError} For playlists, live streams, long or large media, private media hosts,
 *   media only streamed in pieces, unsupported sites and failures.
 */
export async function describeMedia(url: string, options: YtDlpOptions): Promise<MediaInfo> {
  return (await describe(url, options)).info;
}

async function describe(url: string, options: YtDlpOptions): Promise<{ info: MediaInfo; file: MediaFile }> {
  const text = await run([...COMMON, "-f", FORMAT, "--dump-single-json"], url, options);
  let info: RawInfo;
  try {
    info = JSON.parse(text) as RawInfo;
  } catch {
    throw new SoundalikeError(
      ErrorCode.DownloadFailed,
      "yt-dlp gave an answer I can't read: try the file itself",
    );
  }
  if (info._type === "playlist" || info._type === "multi_video" || Array.isArray(info.entries)) {
    throw new SoundalikeError(ErrorCode.DownloadRefused, "That link is a playlist: share one song's link");
  }
  if (info.is_live || info.live_status === "is_live" || info.live_status === "is_upcoming") {
    throw new SoundalikeError(ErrorCode.DownloadRefused, "That is a live stream: share a recorded song");
  }
  if (info.duration !== undefined && info.duration > options.maxSeconds) {
    const minutes = (s: number) => `${Math.round(s / 60)} min`;
    throw new SoundalikeError(
      ErrorCode.DownloadRefused,
      `That is ${minutes(info.duration)} long, more than ${
        minutes(options.maxSeconds)
      }: share a shorter piece`,
    );
  }
  // The chosen format: one file over http(s). Anything else (a merge of several formats, pieces,
  // another protocol) is not what FORMAT asks for and is refused rather than guessed at.
  const chosen: RawFormat = info.requested_downloads?.length === 1 ? info.requested_downloads[0]! : info;
  const size = chosen.filesize ?? chosen.filesize_approx ?? info.filesize ?? info.filesize_approx;
  if (typeof size === "number" && size > options.maxBytes) throw tooLarge(options.maxBytes);
  const pieces = (info.requested_formats?.length ?? 0) > 1 || (info.requested_downloads?.length ?? 1) !== 1;
  if (pieces || !chosen.url || !/^https?$/.test(chosen.protocol ?? "")) {
    throw new SoundalikeError(
      ErrorCode.DownloadRefused,
      "That site only streams its audio in pieces, which I don't fetch: share the file",
    );
  }
  // The media itself may live on another host than the page: it must not be a private address.
  await checkMediaTarget(new URL(chosen.url), options.policy);
  return {
    info: {
      title: info.title || "Untitled",
      duration: info.duration,
      webpageUrl: info.webpage_url ?? info.original_url ?? url,
      uploader: info.uploader ?? info.channel,
      extractor: info.extractor_key ?? info.extractor ?? "unknown",
    },
    file: {
      url: chosen.url,
      ext: /^[a-z0-9]{1,5}$/i.test(chosen.ext ?? info.ext ?? "") ? (chosen.ext ?? info.ext)! : "bin",
      headers: requestHeaders(chosen.http_headers ?? info.http_headers ?? {}),
    },
  };
}

/**
 * A media URL (or a redirect on the way to it) on any host, but never a private address.
 *
 * @returns The checked address the download connects to.
 */
async function checkMediaTarget(url: URL, policy: LinkPolicy): Promise<string | undefined> {
  try {
    return (await checkTargetAddress(url.href, { ...policy, allowedHosts: ["*"] })).address;
  } catch (err) {
    throw err instanceof SoundalikeError
      ? new SoundalikeError(
        ErrorCode.DownloadRefused,
        `The media behind that link is not fetched: ${err.message}`,
      )
      : err;
  }
}

/** The headers yt-dlp would send for the file (user agent, referer, cookies the site set), minus
 * those that ask for a web page. */
function requestHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !/^(accept|sec-fetch-.*)$/i.test(name)),
  );
}

/**
 * Describes and checks a link, downloads its audio file (every redirect checked, the size capped
 * while it streams, within the time limit), then gives it to `use`; the temporary folder is
 * removed afterwards, whatever happens.
 *
 * @param url A link already checked by `checkLink`.
 * @param options Limits and the executable.
 * @param use Work on the downloaded file.
 * @returns What `use` returns.
 */
export async function withLinkAudio<T>(
  url: string,
  options: YtDlpOptions,
  use: (media: FetchedMedia) => Promise<T>,
): Promise<T> {
  const { info, file } = await describe(url, options);
  // Named after the link's title or file, so a message about it names what the user shared
  // (a media URL's own name is often generic, e.g. YouTube's "videoplayback": the title comes first).
  const fromUrl = basename(new URL(file.url).pathname).replace(/\.[a-z0-9]{1,5}$/i, "");
  const stem = (info.title !== "Untitled" ? info.title : fromUrl).replace(/[^\w.-]+/g, "_").slice(0, 80) ||
    "media";
  return await withDownload(
    file.url,
    `${stem}.${file.ext}`,
    {
      allowedHosts: ["*"],
      credentials: file.headers,
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      maxRedirects: options.policy.maxRedirects ?? 5,
      sourceName: "the media's site",
      checkTarget: (hop) => checkMediaTarget(hop, options.policy),
    },
    options.signal,
    (downloaded) => use({ ...info, path: downloaded.path }),
  );
}
