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

/** Whether the Redis answering on `port` is process `pid` (not another test's server on that port). */
async function answers(port: number, pid: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("INFO server\r\n"));
      let text = "";
      const buf = new Uint8Array(4096);
      while (!/process_id:\d+\r\n/.test(text) && text.length < 65_536) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text.match(/process_id:(\d+)/)?.[1] === String(pid);
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
 * @throws {Error} When it does not answer within 10 s (three ports tried at the first start).
 */
export async function startTestRedis(): Promise<TestRedis> {
  let port = privatePort();
  let proc: Deno.ChildProcess | undefined;
  const start = async () => {
    const child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    proc = child;
    let exited = false;
    void child.status.then(() => exited = true);
    for (let i = 0; i < 200 && !exited; i++) {
      if (await answers(port, child.pid)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `redis-server ${exited ? "exited at start (port taken?)" : "did not answer"} on port ${port}`,
    );
  };
  const stop = async () => {
    if (!proc) return;
    try {
      proc.kill("SIGTERM");
    } catch { /* already gone */ }
    await proc.status;
    proc = undefined;
  };
  // Another test may have taken the port between privatePort() and the start: try another.
  for (let attempt = 1;; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      await stop();
      if (attempt === 3) throw err;
      port = privatePort();
    }
  }
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, close: stop };
}
