/**
 * Test helper: a port the OS never hands out by itself, for a server a test stops and starts again on
 * the same port (a private Redis, a throwaway PostgreSQL) or one where nothing must listen.
 * @module
 */

/**
 * A free port below Linux's range for outgoing connections (32768-60999 by default). A port the OS
 * hands out (`port: 0`) could be taken, while the server is down, by another test's outgoing
 * connection or listener, or by a reconnecting client connecting to itself; one outside that range
 * is only ever taken by a listener that asks for it.
 *
 * @returns A port that was free when this returns.
 * @throws {Error} When 200 random tries all found a port in use.
 */
export function privatePort(): number {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  throw new Error("No free port between 20000 and 32000 after 200 tries");
}
