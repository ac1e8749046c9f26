/**
 * A local HTTP proxy on 127.0.0.1 whose every connection goes where a check says: for each
 * request (`CONNECT host:port` for https, an absolute `http://` URL for plain http) the check
 * approves the host and names the address to connect to, or refuses it. A program we do not
 * control (yt-dlp) is pointed at it with `--proxy`, so its connections are checked for private
 * addresses and pinned to the checked address like ours (no second look-up of the name: DNS
 * rebinding gets nowhere), and `fetchPinned` uses it for https. TLS stays end to end: a CONNECT
 * only carries bytes.
 * @module
 */
import { isSoundalikeError, type SoundalikeError } from "../core/errors.ts";

/**
 * Approves a host for one connection.
 *
 * @param host The host as in a URL (lower case, IPv6 in brackets).
 * @param port The port.
 * @param scheme `https` for a CONNECT tunnel, `http` for a plain request.
 * @returns The address to connect to.
 * @throws {SoundalikeError} To refuse it (the reason is kept in {@linkcode CheckedProxy.refusals}).
 */
export type ConnectionCheck = (host: string, port: number, scheme: "http" | "https") => Promise<string>;

/** A running proxy. */
export interface CheckedProxy {
  /** `http://127.0.0.1:<port>`, for `--proxy` or a Deno HTTP client. */
  readonly url: string;
  /** Why connections were refused, in order (to explain a failure better than the client can). */
  readonly refusals: SoundalikeError[];
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts a proxy on an OS-chosen port of 127.0.0.1.
 *
 * @param check Approves each connection's host and names its address.
 * @returns The running proxy; close it when the client is done.
 * @example
 * ```ts ignore
 * const proxy = startCheckedProxy((host, port) => checkAddress(host, port));
 * try { await run(["yt-dlp", "--proxy", proxy.url, url]); } finally { await proxy.close(); }
 * ```
 */
export function startCheckedProxy(check: ConnectionCheck): CheckedProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const work = new Set<Promise<void>>();
  const refusals: SoundalikeError[] = [];
  // Ends connection attempts still under way at close (a host that never answers a SYN).
  const closing = new AbortController();
  const keep = (p: Promise<void>) => {
    const settled = p.catch(() => {});
    work.add(settled);
    void settled.finally(() => work.delete(settled));
  };
  const answer = async (conn: Deno.Conn, status: string, text = "") => {
    const body = encoder.encode(text);
    await conn.write(encoder.encode(
      `HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
        "connection: close\r\n\r\n",
    ));
    if (body.length) await conn.write(body);
    closeQuietly(conn);
  };

  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const request = await readHead(conn);
    if (request === undefined) return closeQuietly(conn);
    const [line = "", ...headers] = request.head.split("\r\n");
    const [method = "", target = ""] = line.split(" ");
    let host: string, port: number, forward: Uint8Array | undefined;
    if (method === "CONNECT") {
      const m = /^(\[[0-9a-f:.]+\]|[^:\[\]]+):(\d{1,5})$/i.exec(target);
      if (!m) return await answer(conn, "400 Bad Request");
      host = m[1]!.toLowerCase();
      port = Number(m[2]);
    } else {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        return await answer(conn, "400 Bad Request");
      }
      if (url.protocol !== "http:") return await answer(conn, "400 Bad Request");
      host = url.hostname;
      port = Number(url.port || 80);
      // The origin's form of the request, on a connection used for this one request only.
      const kept = headers.filter((h) =>
        h && !/^(connection|proxy-connection|proxy-authorization|keep-alive):/i.test(h)
      );
      forward = encoder.encode(
        [
          `${method} ${url.pathname}${url.search} ${line.split(" ")[2] ?? "HTTP/1.1"}`,
          ...kept,
          "connection: close",
        ]
          .join("\r\n") + "\r\n\r\n",
      );
    }
    let address: string;
    try {
      address = await check(host, port, forward === undefined ? "https" : "http");
    } catch (err) {
      if (!isSoundalikeError(err)) throw err;
      refusals.push(err);
      return await answer(conn, "403 Forbidden", err.message);
    }
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({
        hostname: address.replace(/^\[|\]$/g, ""),
        port,
        signal: closing.signal,
      });
    } catch {
      return await answer(conn, "502 Bad Gateway");
    }
    conns.add(upstream);
    if (forward === undefined) {
      await conn.write(encoder.encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
    } else {
      await upstream.write(forward);
    }
    if (request.rest.length) await upstream.write(request.rest);
    await Promise.allSettled([
      conn.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(conn.writable),
    ]);
  };

  keep((async () => {
    for await (const conn of listener) keep(serve(conn).catch(() => closeQuietly(conn)));
  })());
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    refusals,
    async close() {
      closing.abort();
      closeQuietly(listener);
      for (const conn of conns) closeQuietly(conn);
      await Promise.allSettled([...work]);
    },
  };
}

/** The request head (up to the blank line) and the bytes read after it; `undefined` if none came. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array } | undefined> {
  const buf = new Uint8Array(16384);
  let used = 0;
  while (used < buf.length) {
    const n = await conn.read(buf.subarray(used));
    if (n === null) return undefined;
    used += n;
    const end = indexOfBlankLine(buf.subarray(0, used));
    if (end >= 0) {
      return { head: new TextDecoder().decode(buf.subarray(0, end)), rest: buf.slice(end + 4, used) };
    }
  }
  return undefined;
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed (a pipe that ended closes its side).
  }
}
