/**
 * Media links shared in chat: finding them in a message, and deciding whether the bot may fetch
 * one. Only http(s), only hosts on the allowlist, never a private, loopback or link-local address
 * (checked for the host's resolved addresses and for every redirect hop), unless a test or an
 * operator explicitly allows that one private host. The address checked is the one connected to
 * ({@linkcode checkTargetAddress} + `fetchPinned`): the name is not looked up a second time, so it
 * cannot answer something else to the fetch (DNS rebinding).
 * @module
 */
import { ErrorCode, SoundalikeError } from "../core/mod.ts";
import { hostAllowed } from "./download.ts";
import { fetchPinned, type PinnedResponse } from "./pinned_fetch.ts";

/** What a link may be. */
export interface LinkPolicy {
  /** Hosts (`name`, `name:port` or `*.domain`) links may point at. */
  allowedHosts: readonly string[];
  /**
   * Hosts (`name:port` as in the allowlist) allowed even though they are private, loopback or
   * link-local (a LAN media server; the tests' local server). @default none
   */
  privateHostsAllowed?: readonly string[];
  /**
   * Resolves a host name to addresses (a seam for tests). Asked once per URL checked; the connection
   * then goes to an address it gave. @default Deno.resolveDns A + AAAA
   */
  resolve?: (host: string) => Promise<string[]>;
  /** Redirects followed when checking where a link leads. @default 5 */
  maxRedirects?: number;
  /** Milliseconds for the redirect check. @default 10000 */
  timeoutMs?: number;
}

/**
 * The links in a chat message, in order, without duplicates. Understands Slack's `<url|label>`
 * and Discord's `<url>` (no embed) forms; trailing punctuation is not part of a link.
 *
 * @param text The message text.
 * @param escaped `slack`: the text is Slack's, with `&`, `<` and `>` escaped as entities (a shared
 *   `?a=1&b=2` arrives as `?a=1&amp;b=2`). @default none
 * @returns The URLs as written (any scheme), to be checked with {@linkcode checkLink}.
 * @example
 * ```ts
 * import { findLinks } from "./links.ts";
 * const found = findLinks("try <https://youtu.be/abc|this> and https://soundcloud.com/x/y.");
 * console.assert(found.join(" ") === "https://youtu.be/abc https://soundcloud.com/x/y");
 * ```
 */
export function findLinks(text: string, escaped?: "slack"): string[] {
  const out: string[] = [];
  const re = /<([a-z][a-z0-9+.-]*:[^|>\s]+)(?:\|[^>]*)?>|\b([a-z][a-z0-9+.-]*:\/\/[^\s<>"']+)/gi;
  for (const m of text.matchAll(re)) {
    let url = m[1] ?? m[2] ?? "";
    if (m[2] !== undefined) url = withoutTrailingPunctuation(url);
    if (escaped === "slack") url = url.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    if (url && !out.includes(url)) out.push(url);
  }
  return out;
}

/** A link written in prose ends before its sentence's punctuation; `)` only closes an open `(`. */
function withoutTrailingPunctuation(url: string): string {
  for (;;) {
    const last = url.at(-1);
    const count = (c: string) => url.split(c).length - 1;
    if (last !== undefined && ".,;:!?]}".includes(last)) url = url.slice(0, -1);
    else if (last === ")" && count("(") < count(")")) url = url.slice(0, -1);
    else return url;
  }
}

/**
 * Whether an IP address is private, loopback, link-local, unspecified or otherwise not public.
 *
 * @param address An IPv4 or IPv6 address.
 * @returns `true` for addresses a public link must never reach.
 * @example
 * ```ts
 * import { isPrivateAddress } from "./links.ts";
 * console.assert(isPrivateAddress("10.1.2.3") && isPrivateAddress("::1") && !isPrivateAddress("8.8.8.8"));
 * ```
 */
export function isPrivateAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) {
    const [p, q] = [Number(v4[1]), Number(v4[2])];
    return p === 0 || p === 10 || p === 127 || p >= 224 ||
      (p === 100 && q >= 64 && q <= 127) || (p === 169 && q === 254) ||
      (p === 172 && q >= 16 && q <= 31) || (p === 192 && q === 168) ||
      (p === 192 && q === 0) || (p === 198 && (q === 18 || q === 19));
  }
  if (!a.includes(":")) return false;
  // Unspecified, loopback and IPv4-compatible/mapped (::/96, ::ffff:0:0/96), unique local, link-
  // and site-local, multicast, NAT64, and the tunnels that embed any IPv4 address (6to4, Teredo).
  return a === "::" || /^::[0-9a-f]/.test(a) || /^f[cd]/.test(a) || /^fe[89a-f]/.test(a) ||
    /^ff/.test(a) || /^64:ff9b:/.test(a) || /^2002:/.test(a) || /^2001:0{0,4}:/.test(a);
}

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

async function defaultResolve(host: string): Promise<string[]> {
  const found: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      found.push(...await Deno.resolveDns(host, type));
    } catch {
      // No record of this type.
    }
  }
  return found;
}

function refuse(message: string): SoundalikeError {
  return new SoundalikeError(ErrorCode.DownloadRefused, message);
}

/** A URL that passed the checks, and the address to connect to for it. */
export interface CheckedTarget {
  url: URL;
  /**
   * One of the checked addresses (IPv4 first): connect there, never to a fresh look-up of the name.
   * `undefined` only for a host the operator allowed as private whose name the resolver does not
   * know (a name from the hosts file): that one is connected to by name.
   */
  address: string | undefined;
}

/**
 * Checks one URL without following it: scheme, credentials, allowlist, and the addresses its host
 * resolves to.
 *
 * @param raw The URL.
 * @param policy The allowlist and private-address rule.
 * @returns The parsed URL.
 * @throws {SoundalikeError} `download_refused`, saying why.
 */
export async function checkUrlTarget(raw: string, policy: LinkPolicy): Promise<URL> {
  return (await checkTargetAddress(raw, policy)).url;
}

/**
 * Checks one URL as {@linkcode checkUrlTarget} does and says which checked address to connect to.
 *
 * @param raw The URL.
 * @param policy The allowlist and private-address rule.
 * @returns The parsed URL and the address to pin the connection to.
 * @throws {SoundalikeError} `download_refused`, saying why.
 * @example
 * ```ts
 * import { checkTargetAddress } from "./links.ts";
 * const target = await checkTargetAddress("https://example.com/a.mp3", {
 *   allowedHosts: ["example.com"],
 *   resolve: () => Promise.resolve(["93.184.215.14"]),
 * });
 * console.assert(target.address === "93.184.215.14");
 * ```
 */
export async function checkTargetAddress(raw: string, policy: LinkPolicy): Promise<CheckedTarget> {
  if (/^\s*-/.test(raw)) throw refuse("That is an option, not a link: share a link to a page or a file");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(`${JSON.stringify(raw.slice(0, 80))} is not a link I can read`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refuse(`Only http(s) links are fetched, not ${url.protocol} links`);
  }
  if (url.username || url.password) throw refuse("Links with a user name or password are not fetched");
  const host = url.hostname.toLowerCase();
  const shown = url.host.length <= 80 ? url.host : `${url.host.slice(0, 79)}…`;
  if (!hostAllowed(url.host, policy.allowedHosts)) {
    throw refuse(`I don't fetch links from ${shown}: share one from a supported site, or the file itself`);
  }
  const lookUp = (name: string) =>
    IP_LITERAL.test(name) ? Promise.resolve([name]) : (policy.resolve ?? defaultResolve)(name);
  if (hostAllowed(url.host, policy.privateHostsAllowed ?? [])) {
    // Allowed although private, but still pinned: the name may not turn into another address later.
    return { url, address: pickAddress(await lookUp(host)) };
  }
  if (
    host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") ||
    host.endsWith(".internal")
  ) {
    throw refuse(`${shown} is a local address: links must point at public sites`);
  }
  const addresses = await lookUp(host);
  const address = pickAddress(addresses);
  if (address === undefined) throw refuse(`${shown} could not be found: check the link`);
  if (addresses.some(isPrivateAddress)) {
    throw refuse(`${shown} leads to a private network address: links must point at public sites`);
  }
  return { url, address };
}

/** The address a connection uses: the first IPv4 one (the likelier to be routed), else the first. */
function pickAddress(addresses: readonly string[]): string | undefined {
  return addresses.find((a) => !a.includes(":")) ?? addresses[0];
}

/**
 * Fetches a checked target: over a connection to its checked address, or by name when it has none.
 *
 * @param target From {@linkcode checkTargetAddress} (or `checkTarget` of a download policy).
 * @param init As for `fetch`.
 * @returns The response and `close()`, to call when done with the body.
 */
export async function fetchChecked(target: CheckedTarget, init: RequestInit): Promise<PinnedResponse> {
  if (target.address !== undefined) return await fetchPinned(target.url, target.address, init);
  return { response: await fetch(target.url, init), close: () => Promise.resolve() };
}

/**
 * Checks a shared link and every redirect it leads through (each hop against the allowlist and
 * the private-address rule), returning where it ends.
 *
 * @param raw The shared URL.
 * @param policy The allowlist and private-address rule.
 * @returns The final URL, safe to hand to yt-dlp.
 * @throws {SoundalikeError} `download_refused` for a refused link or hop, `download_failed` when
 *   the site does not answer.
 */
export async function checkLink(raw: string, policy: LinkPolicy): Promise<URL> {
  let target = await checkTargetAddress(raw, policy);
  const signal = AbortSignal.timeout(policy.timeoutMs ?? 10_000);
  for (let hop = 0; hop <= (policy.maxRedirects ?? 5); hop++) {
    const url = target.url;
    let response: Response;
    try {
      const pinned = await fetchChecked(target, { method: "GET", redirect: "manual", signal });
      response = pinned.response;
      await response.body?.cancel().catch(() => {});
      await pinned.close();
    } catch (err) {
      throw new SoundalikeError(ErrorCode.DownloadFailed, `${url.host} did not answer: try again later`, {
        cause: err,
      });
    }
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || location === null) return url;
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw refuse(`${url.host} redirects to an unreadable address`);
    }
    try {
      target = await checkTargetAddress(next.toString(), policy);
    } catch (err) {
      throw err instanceof SoundalikeError ? refuse(`The link redirects elsewhere: ${err.message}`) : err;
    }
  }
  throw refuse("The link redirects too many times");
}
