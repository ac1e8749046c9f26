import assert from "node:assert/strict";
import { ErrorCode, SoundalikeError } from "../core/errors.ts";
import { startCheckedProxy } from "./checked_proxy.ts";

Deno.test("startCheckedProxy() forwards a plain request to the checked address in origin form, keeping its Host", async () => {
  const seen: { url: string; host: string | null; connection: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push({ url: req.url, host: req.headers.get("host"), connection: req.headers.get("connection") });
    return new Response("page");
  });
  const checks: string[] = [];
  const proxy = startCheckedProxy((host, port, scheme) => {
    checks.push(`${scheme}://${host}:${port}`);
    return Promise.resolve("127.0.0.1");
  });
  const client = Deno.createHttpClient({ proxy: { url: proxy.url } });
  try {
    const url = `http://page.rebind.test:${server.addr.port}/watch?v=1`;
    const response = await fetch(url, { client });
    assert.equal(await response.text(), "page");
    assert.deepEqual(checks, [`http://page.rebind.test:${server.addr.port}`]);
    assert.deepEqual(seen, [{ url, host: `page.rebind.test:${server.addr.port}`, connection: "close" }]);
  } finally {
    client.close();
    await proxy.close();
    await server.shutdown();
  }
});

Deno.test("startCheckedProxy() refuses what the check refuses, keeps the reason, and connects nowhere", async () => {
  let connected = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    connected = true;
    return new Response("secret");
  });
  const proxy = startCheckedProxy((host) =>
    Promise.reject(
      new SoundalikeError(ErrorCode.DownloadRefused, `${host} leads to a private network address`),
    )
  );
  const client = Deno.createHttpClient({ proxy: { url: proxy.url } });
  try {
    const plain = await fetch(`http://intranet.rebind.test:${server.addr.port}/admin`, { client });
    assert.equal(plain.status, 403);
    assert.equal(await plain.text(), "intranet.rebind.test leads to a private network address");
    // https: the CONNECT is refused, so the fetch fails before any TLS.
    await assert.rejects(fetch(`https://vault.rebind.test:${server.addr.port}/`, { client }));
    assert.deepEqual(proxy.refusals.map((r) => r.message), [
      "intranet.rebind.test leads to a private network address",
      "vault.rebind.test leads to a private network address",
    ]);
    assert.equal(connected, false);
  } finally {
    client.close();
    await proxy.close();
    await server.shutdown();
  }
});

Deno.test("startCheckedProxy().close() ends a connection attempt still under way", async () => {
  // 10.255.255.1 answers nothing here: the attempt would last until the system gives up.
  let checked!: () => void;
  const reached = new Promise<void>((resolve) => (checked = resolve));
  const proxy = startCheckedProxy(() => {
    checked();
    return Promise.resolve("10.255.255.1");
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(proxy.url).port) });
  await conn.write(new TextEncoder().encode("CONNECT nowhere.rebind.test:443 HTTP/1.1\r\n\r\n"));
  await reached;
  await proxy.close();
  conn.close();
});
