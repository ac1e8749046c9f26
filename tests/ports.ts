/**
 * Test helper: a port the OS never hands out by itself, for a server a test stops and starts again on
 * the same port (a private Redis, a throwaway PostgreSQL) or one where nothing must listen.
 * @module
 */

/**
 * A free port below the range Linux hands to outgoing connections (`ip_local_port_range`, 32768-60999
 * by default). A port the OS hands out (`port: 0`) could be taken, while the server is down, by another
 * test's outgoing connection or listener, or by a reconnecting client connecting to itself; one below
 * that range is only ever taken by a listener that asks for it.
 *
 * @returns A port that was free when this returns.
 * @throws {Error} When 200 random tries all found a port in use.
 */
export function privatePort(): number {
  const rangeStart = outgoingRangeStart();
  // A host that hands out nearly every port leaves no quiet range: then any unprivileged one will do.
  const [from, below] = rangeStart > 8192
    ? [Math.max(1024, rangeStart - 12_768), rangeStart]
    : [20_000, 32_000];
  for (let i = 0; i < 200; i++) {
    const port = from + Math.floor(Math.random() * (below - from));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  throw new Error(`No free port between ${from} and ${below} after 200 tries`);
}

/** The first port of Linux's range for outgoing connections (32768 where it cannot be read). */
function outgoingRangeStart(): number {
  try {
    const first = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > 1024 ? first : 32_768;
  } catch {
    return 32_768;
  }
}
