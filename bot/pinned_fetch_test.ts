import assert from "node:assert/strict";
import { privatePort } from "../tests/ports.ts";
import { fetchPinned } from "./pinned_fetch.ts";

const TLS = new URL("../tests/fixtures/tls/", import.meta.url);
const read = (name: string) => Deno.readTextFile(new URL(name, TLS));

/** A server on 127.0.0.1 that records the URL and Host each request arrived with. */
async function startServer(tls: boolean) {
  const seen: { url: string; host: string | null }[] = [];
  const certs = tls
    ? { cert: await read("rebind_test_cert.pem"), key: await read("rebind_test_key.pem") }
    : {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {}, ...certs }, (req) => {
    seen.push({ url: req.url, host: req.headers.get("host") });
    return new Response("audio bytes", { headers: { "content-type": "audio/mpeg" } });
  });
  return { port: server.addr.port, seen, close: () => server.shutdown() };
}

// `.test` names never resolve (RFC 2606), so an answer proves the connection went to the pinned
// address and nothing looked the name up.
Deno.test("fetchPinned() sends http to the pinned address with the URL's own Host", async () => {
  const server = await startServer(false);
  try {
    const url = new URL(`http://media.rebind.test:${server.port}/song.mp3?x=1`);
    const { response, close } = await fetchPinned(url, "127.0.0.1", { redirect: "manual" });
    try {
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "audio bytes");
    } finally {
      await close();
    }
    assert.deepEqual(server.seen, [{ url: url.href, host: url.host }]);
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinned() tunnels https to the pinned address and still checks the site's certificate name", async () => {
  const server = await startServer(true);
  const caCerts = [await read("ca.pem")];
  try {
    const url = new URL(`https://media.rebind.test:${server.port}/song.mp3`);
    const { response, close } = await fetchPinned(url, "127.0.0.1", {}, { caCerts });
    try {
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "audio bytes");
    } finally {
      await close();
    }
    assert.deepEqual(server.seen.map((s) => s.url), [url.href]);

    // The same server and address under a name its certificate does not carry: refused by TLS.
    const other = new URL(`https://other.rebind.test:${server.port}/song.mp3`);
    await assert.rejects(
      () => fetchPinned(other, "127.0.0.1", {}, { caCerts }),
      (err: Error) => /certificate/i.test(String(err.cause)),
    );
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinned() fails cleanly when nothing listens at the pinned address", async () => {
  const port = privatePort(); // a port no other test's connection can be handed meanwhile
  for (const scheme of ["http", "https"]) {
    await assert.rejects(() =>
      fetchPinned(new URL(`${scheme}://media.rebind.test:${port}/`), "127.0.0.1", {})
    );
  }
});

const ipv6Loopback = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "fetchPinned() connects to a pinned IPv6 address, with or without brackets, over http and https",
  ignore: !ipv6Loopback,
  async fn() {
    const certs = { cert: await read("rebind_test_cert.pem"), key: await read("rebind_test_key.pem") };
    const plain = Deno.serve({ hostname: "::1", port: 0, onListen: () => {} }, () => new Response("v6"));
    const tls = Deno.serve(
      { hostname: "::1", port: 0, onListen: () => {}, ...certs },
      () => new Response("v6s"),
    );
    const caCerts = [await read("ca.pem")];
    try {
      for (const address of ["::1", "[::1]"]) {
        for (
          const [url, body] of [
            [`http://media.rebind.test:${plain.addr.port}/`, "v6"],
            [`https://media.rebind.test:${tls.addr.port}/`, "v6s"],
          ]
        ) {
          const { response, close } = await fetchPinned(new URL(url!), address, {}, { caCerts });
          try {
            assert.equal(await response.text(), body, `${url} via ${address}`);
          } finally {
            await close();
          }
        }
      }
    } finally {
      await plain.shutdown();
      await tls.shutdown();
    }
  },
});
