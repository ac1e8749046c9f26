/**
 * Test helper: a private Redis server (the real `redis-server`, no persistence) on a port of its own
 * (`privatePort`), that a test can stop and start again on the same port, as an operator
 * restarting the queue would. Each suite gets its own, so a test that stops it disturbs no one else.
 * @module
 */
import { privatePort } from "./ports.ts";

const found: string | null = await new Deno.Command("redis-server", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => (o.success ? null : "redis-server --version failed")).catch(() =>
  "redis-server is not installed (apt-get install redis-server)"
);

/**
 * Why Redis cannot be used here, or `null` when `redis-server` runs. With
 * `SOUNDALIKE_REQUIRE_REDIS=1` (set by `.ci/run`) a missing server fails the tests instead of
 * skipping them.
 */
export const redisUnavailable: string | null = Deno.env.get("SOUNDALIKE_REQUIRE_REDIS") === "1"
  ? null
  : found;

/** A private Redis server. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  start(): Promise<void>;
  /** Stops it for good. */
  close(): Promise<void>;
}

async function answers(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts a private Redis server.
 *
 * @returns The running server.
 * @throws {Error} When it does not answer within 10 s.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const port = privatePort();
  let proc: Deno.ChildProcess | undefined;
  const start = async () => {
    proc = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 200; i++) {
      if (await answers(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${port}`);
  };
  const stop = async () => {
    if (!proc) return;
    try {
      proc.kill("SIGTERM");
    } catch { /* already gone */ }
    await proc.status;
    proc = undefined;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, close: stop };
}
