/**
 * HTTP(S) requests that connect to an address checked beforehand. A link's host is resolved and
 * its addresses checked (no private networks) before anything is fetched; if the fetch then
 * resolved the name again, a name answering a public address to the check and a private one to the
 * fetch (DNS rebinding) would get through. Here the connection goes to the exact address that was
 * checked, while the request keeps its URL: the same Host header, and for https the same TLS server
 * name and certificate check (the tunnel below only carries the encrypted bytes).
 *
 * Plain http goes over a TCP connection to the address (Deno's `tcp` transport); https goes
 * through a local CONNECT tunnel (`bot/checked_proxy.ts`) that accepts only the URL's own host and
 * port and connects to the address, so the TLS session is still between Deno and the real site.
 * @module
 */
import { ErrorCode, SoundalikeError } from "../core/errors.ts";
import { type CheckedProxy, startCheckedProxy } from "./checked_proxy.ts";

/** A response and what holds its connection open. */
export interface PinnedResponse {
  response: Response;
  /** Closes the connection and its tunnel; call it once the body is read or cancelled. */
  close(): Promise<void>;
}

/** Options of {@linkcode fetchPinned}. */
export interface PinnedFetchOptions {
  /** Root certificates trusted besides the system's, in PEM (tests' own CA). @default none */
  caCerts?: string[];
}

/**
 * Fetches `url` over a connection to `address`, whatever its host resolves to now.
 *
 * @param url The URL; its host names the request (Host header, TLS server name).
 * @param address The checked IPv4 or IPv6 address to connect to (brackets optional).
 * @param init As for `fetch` (a `client` given here is replaced).
 * @param options Extra root certificates.
 * @returns The response and `close()`, to call when done with the body.
 * @example
 * ```ts ignore
 * const { response, close } = await fetchPinned(new URL("https://example.com/a.mp3"), "93.184.215.14", {});
 * try { await response.body?.cancel(); } finally { await close(); }
 * ```
 */
export async function fetchPinned(
  url: URL,
  address: string,
  init: RequestInit,
  options: PinnedFetchOptions = {},
): Promise<PinnedResponse> {
  const hostname = address.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const caCerts = options.caCerts ?? [];
  let tunnel: CheckedProxy | undefined;
  let client: Deno.HttpClient;
  if (url.protocol === "https:") {
    // A tunnel to this one origin only: the client cannot be steered anywhere else through it.
    const origin = `${url.hostname}:${port}`.toLowerCase();
    tunnel = startCheckedProxy((host, p) =>
      `${host}:${p}` === origin ? Promise.resolve(hostname) : Promise.reject(
        new SoundalikeError(ErrorCode.DownloadRefused, `Not this request's origin: ${host}:${p}`),
      )
    );
    client = Deno.createHttpClient({ proxy: { url: tunnel.url }, caCerts });
  } else if (url.protocol === "http:") {
    // The TCP transport wants an IPv6 address in brackets, as in a URL.
    const target = hostname.includes(":") ? `[${hostname}]` : hostname;
    client = Deno.createHttpClient({ proxy: { transport: "tcp", hostname: target, port }, caCerts });
  } else {
    throw new TypeError(`fetchPinned: not an http(s) URL: ${url.protocol}`);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.close();
    await tunnel?.close();
  };
  try {
    return { response: await fetch(url, { ...init, client }), close };
  } catch (err) {
    await close();
    throw err;
  }
}
