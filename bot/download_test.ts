import assert from "node:assert/strict";
import { isSoundalikeError } from "../core/errors.ts";
import { checkUrl, type DownloadPolicy, downloadToFile, hostAllowed } from "./download.ts";

/** Two local servers: the allowed host, and another that records whether a token reached it. */
function startServers() {
  const seenAuth: { host: string; auth: string | null }[] = [];
  const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seenAuth.push({ host: "other", auth: req.headers.get("authorization") });
    return new Response(new Uint8Array(100), { headers: { "content-type": "audio/mpeg" } });
  });
  const main = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    seenAuth.push({ host: "main", auth: req.headers.get("authorization") });
    switch (path) {
      case "/ok.mp3":
        return new Response(new Uint8Array(1000).fill(7), { headers: { "content-type": "audio/mpeg" } });
      case "/page":
        return new Response("<html><body>Sign in</body></html>", {
          headers: { "content-type": "text/html" },
        });
      case "/disguised":
        return new Response("<!DOCTYPE html><html>expired</html>", {
          headers: { "content-type": "application/octet-stream" },
        });
      case "/declared-big":
        return new Response(new Uint8Array(5000), { headers: { "content-type": "audio/mpeg" } });
      case "/streamed-big":
        return new Response(
          new ReadableStream({
            start(c) {
              for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(1000));
              c.close();
            },
          }),
          { headers: { "content-type": "audio/mpeg" } },
        );
      case "/gone":
        return new Response("not found", { status: 404 });
      case "/hop":
        return Response.redirect(new URL("/ok.mp3", req.url), 302);
      case "/away":
        return Response.redirect(`http://127.0.0.1:${other.addr.port}/file.mp3`, 302);
      case "/slow":
        await new Promise((r) => setTimeout(r, 1500));
        return new Response(new Uint8Array(10));
      default:
        return new Response("?", { status: 500 });
    }
  });
  const base = `http://127.0.0.1:${main.addr.port}`;
  const policy: DownloadPolicy = {
    allowedHosts: [`127.0.0.1:${main.addr.port}`],
    credentials: { authorization: "Bearer xoxb-secret" },
    maxBytes: 4000,
    timeoutMs: 5000,
    sourceName: "the test CDN",
  };
  return {
    base,
    policy,
    seenAuth,
    async close() {
      await main.shutdown();
      await other.shutdown();
    },
  };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("downloadToFile() fetches from an allowed host with credentials, following same-host redirects", async () => {
  const s = startServers();
  try {
    await withDir(async (dir) => {
      const got = await downloadToFile(`${s.base}/hop`, `${dir}/a.mp3`, s.policy);
      assert.equal(got.bytes, 1000);
      assert.equal(got.contentType, "audio/mpeg");
      assert.equal((await Deno.readFile(`${dir}/a.mp3`)).length, 1000);
      assert.ok(s.seenAuth.every((a) => a.auth === "Bearer xoxb-secret"));
    });
  } finally {
    await s.close();
  }
});

Deno.test("downloadToFile() never follows a redirect off the allowlist, so the token stays home", async () => {
  const s = startServers();
  try {
    await withDir(async (dir) => {
      await assert.rejects(
        downloadToFile(`${s.base}/away`, `${dir}/a.mp3`, s.policy),
        (err) => isSoundalikeError(err, "download_refused") && /redirected to 127\.0\.0\.1/.test(err.message),
      );
      assert.deepEqual(
        s.seenAuth.filter((a) => a.host === "other"),
        [],
        "the other host was never contacted",
      );
    });
  } finally {
    await s.close();
  }
});

Deno.test("downloadToFile() refuses web pages, expired links, oversized and slow downloads clearly", async () => {
  const s = startServers();
  try {
    await withDir(async (dir) => {
      const dest = `${dir}/x`;
      const cases: [string, string, RegExp][] = [
        ["/page", "download_failed", /text\/html page, not audio/],
        ["/disguised", "download_failed", /not audio/],
        ["/gone", "download_failed", /no longer available \(HTTP 404/],
        ["/declared-big", "file_too_large", /, more than the [0-9.]+ MB limit/],
        ["/streamed-big", "file_too_large", /over/],
      ];
      for (const [path, code, message] of cases) {
        await assert.rejects(
          downloadToFile(`${s.base}${path}`, dest, s.policy),
          (err) => isSoundalikeError(err) && err.code === code && message.test(err.message),
          path,
        );
      }
      await assert.rejects(
        downloadToFile(`${s.base}/slow`, dest, { ...s.policy, timeoutMs: 200 }),
        (err) => isSoundalikeError(err, "download_failed") && /took longer than/.test(err.message),
      );
    });
  } finally {
    await s.close();
  }
});

Deno.test("downloadToFile() connects each hop to the address its check approved, not to a new look-up of the name", async () => {
  const seen: string[] = [];
  const cdn = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    seen.push(`${req.headers.get("host")}${path}`);
    if (path === "/hop") return new Response(null, { status: 302, headers: { location: "/ok.mp3" } });
    return new Response(new Uint8Array(1000).fill(7), { headers: { "content-type": "audio/mpeg" } });
  });
  // A `.test` name no resolver knows: only the pinned address can reach the server.
  const host = `cdn.rebind.test:${cdn.addr.port}`;
  const checked: string[] = [];
  try {
    await withDir(async (dir) => {
      const got = await downloadToFile(`http://${host}/hop`, `${dir}/a.mp3`, {
        allowedHosts: [host],
        maxBytes: 4000,
        timeoutMs: 5000,
        checkTarget: (url) => {
          checked.push(url.href);
          return Promise.resolve("127.0.0.1");
        },
      });
      assert.equal(got.bytes, 1000);
    });
    assert.deepEqual(checked, [`http://${host}/hop`, `http://${host}/ok.mp3`]);
    assert.deepEqual(seen, [`${host}/hop`, `${host}/ok.mp3`]);
  } finally {
    await cdn.shutdown();
  }
});

Deno.test("checkUrl() refuses other schemes, hosts and embedded passwords", () => {
  const policy = { allowedHosts: ["cdn.discordapp.com"], sourceName: "Discord's CDN" };
  assert.equal(checkUrl("https://cdn.discordapp.com/a.mp3", policy).host, "cdn.discordapp.com");
  for (
    const bad of [
      "file:///etc/passwd",
      "ftp://cdn.discordapp.com/a",
      "https://evil.example/a.mp3",
      "not a url",
    ]
  ) {
    assert.throws(() => checkUrl(bad, policy), (err) => isSoundalikeError(err, "download_refused"), bad);
  }
  assert.throws(() => checkUrl("https://u:p@cdn.discordapp.com/a.mp3", policy), /user name or password/);
  assert.ok(!hostAllowed("slack-edge.com", ["*.slack-edge.com"]));
  assert.ok(!hostAllowed("evilcdn.discordapp.com.evil.io", ["cdn.discordapp.com"]));
});
