/**
 * A local file server standing in for a CDN: routes map to files (bytes and a content type), to
 * a status code, or to a page of HTML served where audio was expected.
 *
 * @module
 */

/** What a route serves. */
export type Route =
  | { bytes: Uint8Array<ArrayBuffer>; type: string }
  | { status: number }
  | { html: string };

/** The server's handle. */
export interface FileServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** `127.0.0.1:<port>`, for allowlists. */
  readonly host: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  /** Adds or replaces a route; returns its full URL. */
  route(path: string, route: Route): string;
  close(): Promise<void>;
}

/**
 * Starts the server on a random local port.
 *
 * @returns Its handle.
 */
export function startFileServer(): FileServer {
  const routes = new Map<string, Route>();
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const r = routes.get(path);
    if (!r) return new Response("not found", { status: 404 });
    if ("status" in r) return new Response("gone", { status: r.status });
    if ("html" in r) return new Response(r.html, { headers: { "content-type": "text/html; charset=utf-8" } });
    return new Response(r.bytes, {
      headers: { "content-type": r.type, "content-length": String(r.bytes.length) },
    });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    host: `127.0.0.1:${server.addr.port}`,
    requests,
    route(path, route) {
      routes.set(path, route);
      return `${origin}${path}`;
    },
    close: () => server.shutdown(),
  };
}
