/**
 * HTTP(S) requests that connect to an address checked beforehand. A link's host is resolved and
 * its addresses checked (no private networks) before anything is fetched; if the fetch then
 * resolved the name again, a name answering a public address to the check and a private one to the
 * fetch (DNS rebinding) would get through. Here the connection goes to the exact address that was
 * checked, while the request keeps its URL: the same Host header, and for https the same TLS server
 * name and certificate check (the tunnel below only carries the encrypted bytes).
 *
 * Plain http goes over a TCP connection to the address (Deno's `tcp` transport); https goes
 * through a one-request local CONNECT tunnel that accepts only the URL's own host and port and
 * connects to the address, so the TLS session is still between Deno and the real site.
 * @module
 */

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
  let tunnel: Tunnel | undefined;
  let client: Deno.HttpClient;
  if (url.protocol === "https:") {
    tunnel = openTunnel(`${url.hostname}:${port}`.toLowerCase(), hostname, port);
    client = Deno.createHttpClient({ proxy: { url: `http://127.0.0.1:${tunnel.port}` }, caCerts });
  } else if (url.protocol === "http:") {
    client = Deno.createHttpClient({ proxy: { transport: "tcp", hostname, port }, caCerts });
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

interface Tunnel {
  port: number;
  close(): Promise<void>;
}

/**
 * A local CONNECT proxy for one origin: a CONNECT to `authority` is joined to `address:port`;
 * anything else is refused, so the client cannot be steered to another host through it.
 */
function openTunnel(authority: string, address: string, port: number): Tunnel {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const work = new Set<Promise<void>>();
  const keep = (p: Promise<void>) => {
    const settled = p.catch(() => {});
    work.add(settled);
    void settled.finally(() => work.delete(settled));
  };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const head = await readHead(conn);
    const target = head === undefined ? undefined : /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head)?.[1];
    if (target?.toLowerCase() !== authority) {
      await conn.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"));
      closeQuietly(conn);
      return;
    }
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: address, port });
    } catch {
      await conn.write(new TextEncoder().encode("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n"));
      closeQuietly(conn);
      return;
    }
    conns.add(upstream);
    await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
    await Promise.allSettled([
      conn.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(conn.writable),
    ]);
  };
  keep((async () => {
    for await (const conn of listener) keep(serve(conn));
  })());
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      closeQuietly(listener);
      for (const conn of conns) closeQuietly(conn);
      await Promise.allSettled([...work]);
    },
  };
}

/** The request head (up to the blank line), or `undefined` when the client goes away or sends too much. */
async function readHead(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(8192);
  let used = 0;
  while (used < buf.length) {
    const n = await conn.read(buf.subarray(used));
    if (n === null) return undefined;
    used += n;
    const text = new TextDecoder().decode(buf.subarray(0, used));
    // The client waits for our answer before it says more, so nothing after the head is lost.
    if (text.includes("\r\n\r\n")) return text;
  }
  return undefined;
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed (a pipe that ended closes its side).
  }
}
