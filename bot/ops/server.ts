/**
 * The ops endpoints of a process, on their own port: `/healthz` (200 once models, index and
 * database are open, 503 before and while stopping) and `/metrics` (Prometheus).
 * @module
 */
import type { Metrics } from "./metrics.ts";

/** What `/healthz` reports. */
export interface Health {
  ready: boolean;
  /** Why not ready, or what is served. */
  detail: Record<string, unknown>;
}

/** A running ops server. */
export interface OpsServer {
  /** The port it listens on (the OS's choice when 0 was asked). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` and `/metrics`.
 *
 * @param options The port (0: the OS picks), the health check, the metrics, the process's labels.
 * @returns The running server.
 */
export function startOpsServer(options: {
  port: number;
  hostname?: string;
  health: () => Health | Promise<Health>;
  metrics: Metrics;
  labels: Record<string, string>;
}): OpsServer {
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: () => {},
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET") return new Response("method not allowed", { status: 405 });
    if (path === "/healthz") {
      const health = await Promise.resolve(options.health()).catch((err) => ({
        ready: false,
        detail: { problem: err instanceof Error ? err.message : String(err) },
      }));
      return Response.json(
        { status: health.ready ? "ready" : "not ready", ...options.labels, ...health.detail },
        { status: health.ready ? 200 : 503 },
      );
    }
    if (path === "/metrics") {
      const { contentType, body } = await options.metrics.render();
      return new Response(body, { headers: { "content-type": contentType } });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    port: server.addr.port,
    close: () => server.shutdown(),
  };
}
