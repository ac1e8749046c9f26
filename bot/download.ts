/**
 * Downloads a chat attachment to a local file, safely: http(s) only, only from allowlisted hosts
 * (redirects included), credentials sent only to those hosts, size checked before and while
 * reading, a wall-clock timeout, and web pages refused as not audio; with a target check, each
 * request goes to the address that check approved (`bot/pinned_fetch.ts`). Files are downloaded
 * here only; `bot/links.ts` fetches just to follow a link's redirects.
 * @module
 */
import { join } from "node:path";
import { ErrorCode, SoundalikeError } from "../core/errors.ts";
import { fetchPinned } from "./pinned_fetch.ts";

/** What a download may do. */
export interface DownloadPolicy {
  /** Hosts (`name` or `name:port`, or `*.domain`) the URL and every redirect must be on. */
  allowedHosts: readonly string[];
  /** Headers (a bot token) sent only to allowed hosts, never after a redirect elsewhere. */
  credentials?: Record<string, string>;
  /** Largest accepted body in bytes. */
  maxBytes: number;
  /** Wall-clock limit for the whole download, in milliseconds. */
  timeoutMs: number;
  /** Redirects followed at most. @default 3 */
  maxRedirects?: number;
  /** Words for the source in messages, e.g. "Discord's CDN". @default "the allowed hosts" */
  sourceName?: string;
  /**
   * A further check of the URL and of every redirect before it is requested (for links: no private
   * addresses); throws a `SoundalikeError` to refuse. When it returns an address, that request
   * connects to that very address (the one checked), not to a fresh look-up of the host's name.
   * @default none
   */
  checkTarget?: (url: URL) => Promise<string | undefined>;
}

/** What was downloaded. */
export interface Downloaded {
  path: string;
  bytes: number;
  contentType: string | undefined;
}

const NOT_AUDIO_TYPES = /^(text\/|image\/|application\/(json|xml|xhtml|pdf|zip|javascript))/i;

/**
 * Whether `host` (as in `URL.host`, lower case) is on the list.
 *
 * @param host A URL's host, with its port when not the default.
 * @param allowed Entries as in {@linkcode DownloadPolicy.allowedHosts}; `*` allows any host.
 * @returns `true` when an entry matches exactly or as a `*.` suffix.
 * @example
 * ```ts
 * import { hostAllowed } from "./download.ts";
 * console.assert(hostAllowed("cdn.discordapp.com", ["cdn.discordapp.com"]));
 * console.assert(hostAllowed("a.slack-edge.com", ["*.slack-edge.com"]));
 * console.assert(!hostAllowed("evil.com", ["cdn.discordapp.com"]));
 * ```
 */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    if (e === "*") return true;
    return e.startsWith("*.") ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

/**
 * Checks a URL against the policy without fetching it.
 *
 * @param raw The URL.
 * @param policy The allowed hosts.
 * @returns The parsed URL.
 * @throws {SoundalikeError} `download_refused` for other schemes or hosts.
 */
export function checkUrl(raw: string, policy: Pick<DownloadPolicy, "allowedHosts" | "sourceName">): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SoundalikeError(ErrorCode.DownloadRefused, "That is not a valid link: send the file itself");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SoundalikeError(
      ErrorCode.DownloadRefused,
      `Only http(s) links can be fetched, not ${url.protocol}`,
    );
  }
  if (url.username || url.password) {
    throw new SoundalikeError(
      ErrorCode.DownloadRefused,
      "Links with a user name or password are not fetched",
    );
  }
  if (!hostAllowed(url.host, policy.allowedHosts)) {
    throw new SoundalikeError(
      ErrorCode.DownloadRefused,
      `Files are only downloaded from ${
        policy.sourceName ?? "the allowed hosts"
      }, not ${url.host}: upload the file itself`,
    );
  }
  return url;
}

/**
 * Downloads `url` into the file `dest`.
 *
 * @param url Where the file is.
 * @param dest The local file to write (created or replaced).
 * @param policy Hosts, credentials, size and time limits.
 * @param signal Aborts the download (shutdown).
 * @returns The path, size and content type.
 * @throws {SoundalikeError} `download_refused` (scheme, host, redirect, declared size),
 *   `file_too_large` (body over the limit), `download_failed` (HTTP error, expired link, timeout,
 *   a web page instead of audio).
 */
export async function downloadToFile(
  url: string,
  dest: string,
  policy: DownloadPolicy,
  signal?: AbortSignal,
): Promise<Downloaded> {
  const timeout = AbortSignal.timeout(policy.timeoutMs);
  const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let current = checkUrl(url, policy);
  let response: Response | undefined;
  // Each hop's connection, closed once its body is read or cancelled.
  const connections: (() => Promise<void>)[] = [];
  try {
    for (let hop = 0;; hop++) {
      const address = await policy.checkTarget?.(current);
      const init: RequestInit = { redirect: "manual", signal: abort, headers: policy.credentials ?? {} };
      if (address === undefined) {
        response = await fetch(current, init);
      } else {
        const pinned = await fetchPinned(current, address, init);
        connections.push(pinned.close);
        response = pinned.response;
      }
      if (response.status < 300 || response.status >= 400) break;
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (location === null || hop >= (policy.maxRedirects ?? 3)) {
        throw new SoundalikeError(
          ErrorCode.DownloadFailed,
          "The download kept redirecting: upload the file again",
        );
      }
      const next = new URL(location, current);
      if (
        !hostAllowed(next.host, policy.allowedHosts) ||
        (next.protocol !== "https:" && next.protocol !== "http:")
      ) {
        throw new SoundalikeError(
          ErrorCode.DownloadRefused,
          `The download redirected to ${next.host}, outside ${
            policy.sourceName ?? "the allowed hosts"
          }: upload the file itself`,
        );
      }
      current = next;
    }
    if (!response.ok) {
      await response.body?.cancel();
      const gone = [401, 403, 404, 410].includes(response.status);
      throw new SoundalikeError(
        ErrorCode.DownloadFailed,
        gone
          ? `The file is no longer available (HTTP ${response.status}; links expire): upload it again`
          : `The download failed (HTTP ${response.status}): try again in a moment`,
      );
    }
    const contentType = response.headers.get("content-type")?.split(";")[0]?.trim() || undefined;
    if (contentType !== undefined && NOT_AUDIO_TYPES.test(contentType)) {
      await response.body?.cancel();
      throw notAudio(contentType);
    }
    const declared = Number(response.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > policy.maxBytes) {
      await response.body?.cancel();
      throw tooLarge(declared, policy.maxBytes);
    }
    const bytes = await writeCapped(response, dest, policy.maxBytes);
    return { path: dest, bytes, contentType };
  } catch (err) {
    if (err instanceof SoundalikeError) throw err;
    if (timeout.aborted) {
      throw new SoundalikeError(
        ErrorCode.DownloadFailed,
        `The download took longer than ${Math.round(policy.timeoutMs / 1000)} s: try a smaller file`,
        { cause: err },
      );
    }
    if (signal?.aborted) throw err;
    throw new SoundalikeError(ErrorCode.DownloadFailed, "The file could not be downloaded: try again", {
      cause: err,
    });
  } finally {
    await Promise.allSettled(connections.map((close) => close()));
  }
}

/**
 * Downloads `url` as `fileName` into a fresh temporary folder, gives the file to `use`, and removes
 * the folder afterwards, whatever happens.
 *
 * @param url Where the file is.
 * @param fileName The local file's name (its extension guides ffmpeg).
 * @param policy Hosts, credentials, size and time limits; see {@linkcode downloadToFile}.
 * @param signal Aborts the download (shutdown).
 * @param use Work on the downloaded file.
 * @returns What `use` returns.
 */
export async function withDownload<T>(
  url: string,
  fileName: string,
  policy: DownloadPolicy,
  signal: AbortSignal | undefined,
  use: (downloaded: Downloaded) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "soundalike_download_" });
  try {
    return await use(await downloadToFile(url, join(dir, fileName), policy, signal));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function writeCapped(response: Response, dest: string, maxBytes: number): Promise<number> {
  const file = await Deno.open(dest, { write: true, create: true, truncate: true });
  let total = 0;
  let first = true;
  try {
    if (response.body === null) return 0;
    for await (const chunk of response.body) {
      if (first) {
        first = false;
        if (looksLikeHtml(chunk)) throw notAudio("text/html");
      }
      total += chunk.byteLength;
      if (total > maxBytes) throw tooLarge(total, maxBytes, true);
      let written = 0;
      while (written < chunk.byteLength) written += await file.write(chunk.subarray(written));
    }
    return total;
  } catch (err) {
    await response.body?.cancel().catch(() => {});
    throw err;
  } finally {
    file.close();
  }
}

function looksLikeHtml(chunk: Uint8Array): boolean {
  const head = new TextDecoder().decode(chunk.subarray(0, 64)).trimStart().toLowerCase();
  return head.startsWith("<!doctype html") || head.startsWith("<html") || head.startsWith("<?xml");
}

function notAudio(type: string): SoundalikeError {
  return new SoundalikeError(
    ErrorCode.DownloadFailed,
    `The link gave a ${type} page, not audio (it may have expired or need a login): upload the audio file itself`,
  );
}

function tooLarge(bytes: number, max: number, atLeast = false): SoundalikeError {
  const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);
  return new SoundalikeError(
    ErrorCode.FileTooLarge,
    `The file is ${atLeast ? "over " : ""}${mb(bytes)} MB, more than the ${
      mb(max)
    } MB limit: send a shorter clip`,
  );
}
