/**
 * yt-dlp, the only module that runs it: a subprocess, never a shell, `--ignore-config`, the URL
 * after `--`, no playlists. It first asks for the media's description only (no download) and refuses
 * playlists, live streams, media longer or larger than the limits and media hosted on private
 * addresses; then it downloads the audio into a fresh temporary folder, which the caller's callback
 * uses and which is always removed. Every call has a wall-clock timeout.
 * @module
 */
import { join } from "node:path";
import { ErrorCode, SoundalikeError } from "../core/mod.ts";
import { checkUrlTarget, type LinkPolicy } from "./links.ts";

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
  formats?: { url?: string; filesize?: number; filesize_approx?: number }[];
  requested_downloads?: { url?: string; filesize?: number; filesize_approx?: number }[];
}

const COMMON = [
  "--ignore-config",
  "--no-playlist",
  "--no-warnings",
  "--no-cache-dir",
  "--socket-timeout",
  "15",
];

async function run(args: string[], options: YtDlpOptions, cwd?: string): Promise<string> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(options.path ?? "yt-dlp", {
      args,
      ...(cwd ? { cwd } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SoundalikeError(
        ErrorCode.MissingTool,
        "yt-dlp is not installed, so links cannot be fetched: install it (apt-get install yt-dlp) or set SOUNDALIKE_YTDLP_PATH",
      );
    }
    throw err;
  }
  if (timeout.aborted) {
    throw new SoundalikeError(
      ErrorCode.DownloadFailed,
      `Fetching the link took longer than ${
        Math.round(options.timeoutMs / 1000)
      } s: share a shorter piece, or the file`,
    );
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    const reason = /ERROR: (?:\[[^\]]+\] )?(?:[\w-]+: )?(.+)/.exec(stderr)?.[1]?.trim().slice(0, 200);
    if (/Unsupported URL/i.test(stderr)) {
      throw new SoundalikeError(
        ErrorCode.DownloadRefused,
        "That site is not supported: share a link to a song's page or file",
      );
    }
    if (/File is larger than max-filesize|max-filesize/i.test(stderr)) {
      throw tooLarge(options.maxBytes);
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
 *   unsupported sites and failures.
 */
export async function describeMedia(url: string, options: YtDlpOptions): Promise<MediaInfo> {
  const text = await run([...COMMON, "--dump-single-json", "--", url], options);
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
  const sizes = [info, ...(info.requested_downloads ?? [])].map((f) => f.filesize ?? f.filesize_approx)
    .filter((x): x is number => typeof x === "number");
  if (sizes.length && Math.min(...sizes) > options.maxBytes) throw tooLarge(options.maxBytes);
  // The media itself may live on another host than the page: it must not be a private address.
  const mediaUrls = [info.url, ...(info.requested_downloads ?? []).map((d) => d.url)].filter((
    u,
  ): u is string => !!u);
  for (const media of mediaUrls) {
    await checkUrlTarget(media, { ...options.policy, allowedHosts: ["*"] }).catch((err) => {
      throw err instanceof SoundalikeError
        ? new SoundalikeError(
          ErrorCode.DownloadRefused,
          `The media behind that link is not fetched: ${err.message}`,
        )
        : err;
    });
  }
  return {
    title: info.title || "Untitled",
    duration: info.duration,
    webpageUrl: info.webpage_url ?? info.original_url ?? url,
    uploader: info.uploader ?? info.channel,
    extractor: info.extractor_key ?? info.extractor ?? "unknown",
  };
}

/**
 * Describes, checks and downloads a link's audio, then gives it to `use`; the temporary folder is
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
  const info = await describeMedia(url, options);
  const dir = await Deno.makeTempDir({ prefix: "soundalike_link_" });
  try {
    await run(
      [
        ...COMMON,
        ...["-f", "bestaudio/best", "--max-filesize", String(options.maxBytes)],
        ...["--no-part", "--no-mtime", "--no-progress", "--restrict-filenames"],
        ...["-o", join(dir, "media.%(ext)s"), "--", url],
      ],
      options,
      dir,
    );
    const files: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.startsWith("media.")) files.push(e.name);
    if (files.length === 0) {
      // yt-dlp skips a file over --max-filesize with success and no file.
      throw tooLarge(options.maxBytes);
    }
    return await use({ ...info, path: join(dir, files[0]!) });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
