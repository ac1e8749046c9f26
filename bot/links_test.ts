import assert from "node:assert/strict";
import { MAX_NOTICE_CHARS, notice } from "./answer.ts";
import { renderDiscord } from "./discord/render.ts";
import { renderSlack } from "./slack/render.ts";
import { isSoundalikeError } from "../core/errors.ts";
import {
  checkLink,
  checkTargetAddress,
  checkUrlTarget,
  findLinks,
  isPrivateAddress,
  type LinkPolicy,
} from "./links.ts";

Deno.test("findLinks() finds plain, Slack and Discord links, any scheme, without trailing punctuation", () => {
  assert.deepEqual(
    findLinks(
      "a <https://youtu.be/x|video>, b <https://soundcloud.com/a/b> c https://x.bandcamp.com/track/y). file:///etc/passwd",
    ),
    [
      "https://youtu.be/x",
      "https://soundcloud.com/a/b",
      "https://x.bandcamp.com/track/y",
      "file:///etc/passwd",
    ],
  );
  assert.deepEqual(findLinks("no links --exec rm -rf / here"), []);
  assert.deepEqual(
    findLinks("see https://en.wikipedia.org/wiki/Foo_(band), (or https://x.org/a)."),
    ["https://en.wikipedia.org/wiki/Foo_(band)", "https://x.org/a"],
    "a ) closes only an open (",
  );
  // Slack escapes & < > in message text, also inside its <url|label> links.
  assert.deepEqual(
    findLinks("<https://youtube.com/watch?v=abc&amp;list=PL1|song> https://a.org/?x=1&amp;y=2", "slack"),
    ["https://youtube.com/watch?v=abc&list=PL1", "https://a.org/?x=1&y=2"],
  );
});

Deno.test("isPrivateAddress() knows private, loopback, link-local, CGNAT and IPv6 local ranges", () => {
  for (
    const a of [
      "10.0.0.1",
      "127.0.0.1",
      "172.16.5.4",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      "[::1]",
      "::7f00:1", // ::127.0.0.1, IPv4-compatible
      "[::ffff:7f00:1]",
      "fec0::1", // site-local
      "2002:7f00:1::1", // 6to4 of 127.0.0.1
      "2001:0:4136:e378::1", // Teredo
      "2001::1",
    ]
  ) {
    assert.ok(isPrivateAddress(a), a);
  }
  for (const a of ["8.8.8.8", "172.32.0.1", "151.101.1.1", "2a00:1450:4007::200e", "2001:4860:4860::8888"]) {
    assert.ok(!isPrivateAddress(a), a);
  }
});

const publicDns = (map: Record<string, string[]>): (host: string) => Promise<string[]> => (host) =>
  Promise.resolve(map[host] ?? []);

Deno.test("checkUrlTarget() refuses options, other schemes, unknown hosts and private addresses", async () => {
  const policy: LinkPolicy = {
    allowedHosts: ["youtube.com", "*.bandcamp.com", "evil.example"],
    resolve: publicDns({
      "youtube.com": ["142.250.1.1"],
      "a.bandcamp.com": ["151.101.1.1"],
      "evil.example": ["10.1.1.1"],
    }),
  };
  assert.equal((await checkUrlTarget("https://youtube.com/watch?v=1", policy)).host, "youtube.com");
  assert.equal((await checkUrlTarget("https://a.bandcamp.com/track/x", policy)).host, "a.bandcamp.com");
  const cases: [string, RegExp][] = [
    ["--exec=rm", /an option, not a link/],
    ["file:///etc/passwd", /Only http\(s\) links/],
    ["ftp://youtube.com/x", /Only http\(s\) links/],
    ["https://vimeo.com/1", /don't fetch links from vimeo\.com/],
    ["https://evil.example/x", /private network address/],
    ["https://user:pw@youtube.com/x", /user name or password/],
    ["http://127.0.0.1:8080/x", /don't fetch links from 127\.0\.0\.1:8080/],
  ];
  for (const [url, message] of cases) {
    await assert.rejects(
      checkUrlTarget(url, policy),
      (e) => isSoundalikeError(e, "download_refused") && message.test(e.message),
      url,
    );
  }
  await assert.rejects(
    checkUrlTarget("http://localhost/x", { allowedHosts: ["localhost"] }),
    /local address/,
  );
  await assert.rejects(
    checkUrlTarget("http://127.0.0.1/x", { allowedHosts: ["127.0.0.1"] }),
    /private network address/,
  );
  assert.ok(
    await checkUrlTarget("http://127.0.0.1/x", {
      allowedHosts: ["127.0.0.1"],
      privateHostsAllowed: ["127.0.0.1"],
    }),
  );
});

Deno.test("checkLink() follows redirects and refuses one that leaves the allowlist or reaches a private address", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/hop") return Response.redirect(new URL("/song.mp3", req.url), 302);
    if (path === "/private") return Response.redirect("http://10.0.0.7/admin", 302);
    if (path === "/away") return Response.redirect("https://elsewhere.example/x", 302);
    return new Response("ok");
  });
  const host = `127.0.0.1:${server.addr.port}`;
  try {
    // Only the test server is allowed though private; 10.0.0.7 is listed as a host but stays private.
    const policy: LinkPolicy = { allowedHosts: [host, "10.0.0.7"], privateHostsAllowed: [host] };
    assert.equal((await checkLink(`http://${host}/hop`, policy)).pathname, "/song.mp3");
    await assert.rejects(
      checkLink(`http://${host}/away`, policy),
      /redirects elsewhere: I don't fetch links from elsewhere\.example/,
    );
    await assert.rejects(
      checkLink(`http://${host}/private`, policy),
      /redirects elsewhere: 10\.0\.0\.7 leads to a private network address/,
    );
    await assert.rejects(
      checkLink(`http://${host}/hop`, { allowedHosts: [host] }),
      /private network address/,
    );
  } finally {
    await server.shutdown();
  }
});

/**
 * A resolver that answers each name's first look-up with `first` and every later one with 10.0.0.7
 * (DNS rebinding), counting the look-ups.
 */
function rebindingDns(first: string) {
  const lookUps = new Map<string, number>();
  const resolve = (host: string) => {
    const n = (lookUps.get(host) ?? 0) + 1;
    lookUps.set(host, n);
    return Promise.resolve(n === 1 ? [first] : ["10.0.0.7"]);
  };
  return { resolve, lookUps };
}

Deno.test("checkLink() connects to the address it checked for the link and each redirect, whatever the name answers next (DNS rebinding)", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(`${req.headers.get("host")}${new URL(req.url).pathname}`);
    const port = new URL(req.url).port;
    if (new URL(req.url).pathname === "/start") {
      return Response.redirect(`http://hop.rebind.test:${port}/song.mp3`, 302);
    }
    return new Response("ok");
  });
  const port = server.addr.port;
  // `.test` names exist only in this resolver; the test server is loopback, so it is allowed as
  // private (still pinned). A second look-up would send the request to 10.0.0.7 and fail.
  const hosts = [`media.rebind.test:${port}`, `hop.rebind.test:${port}`];
  const dns = rebindingDns("127.0.0.1");
  try {
    const policy: LinkPolicy = { allowedHosts: hosts, privateHostsAllowed: hosts, resolve: dns.resolve };
    const final = await checkLink(`http://media.rebind.test:${port}/start`, policy);
    assert.equal(final.href, `http://hop.rebind.test:${port}/song.mp3`);
    assert.deepEqual(seen, [`media.rebind.test:${port}/start`, `hop.rebind.test:${port}/song.mp3`]);
    assert.deepEqual([...dns.lookUps], [["media.rebind.test", 1], ["hop.rebind.test", 1]]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("checkTargetAddress() gives the checked address (IPv4 first) to connect to", async () => {
  const resolve = publicDns({
    "a.example": ["2606:4700::1111", "151.101.1.1"],
    "b.example": ["2606:4700::1"],
  });
  const policy: LinkPolicy = { allowedHosts: ["a.example", "b.example", "151.101.2.2"], resolve };
  assert.equal((await checkTargetAddress("https://a.example/x", policy)).address, "151.101.1.1");
  assert.equal((await checkTargetAddress("https://b.example/x", policy)).address, "2606:4700::1");
  assert.equal((await checkTargetAddress("https://151.101.2.2/x", policy)).address, "151.101.2.2");
  // A rebinding answer (public, then private) is checked at each look-up: the second is refused.
  const dns = rebindingDns("151.101.1.1");
  const rebinding: LinkPolicy = { allowedHosts: ["a.example"], resolve: dns.resolve };
  assert.equal((await checkTargetAddress("https://a.example/x", rebinding)).address, "151.101.1.1");
  await assert.rejects(checkTargetAddress("https://a.example/x", rebinding), /private network address/);
});

Deno.test("a refusal quoting a 2,000-character link still fits one Discord message and one Slack section", async () => {
  const host = `${"a".repeat(60)}.`.repeat(31) + "example";
  const link = `https://${host}/song`;
  const refusal = await checkUrlTarget(link, { allowedHosts: ["youtube.com"] }).catch((e: Error) => e);
  assert.ok(
    refusal instanceof Error && /I don't fetch links from a{60}\.a{18}…: share/.test(refusal.message),
  );
  // Whatever text reaches a notice (a reason from yt-dlp, a file name), it is cut to fit.
  const long = notice("error", "download_refused", `Refused: ${link} ${link}`);
  assert.ok(long.text.length <= MAX_NOTICE_CHARS && long.text.endsWith("…"));
  assert.ok(renderDiscord(long).content!.length <= 2000);
  const blocks = renderSlack(long).blocks as { text?: { text: string } }[];
  assert.ok(blocks.every((b) => (b.text?.text.length ?? 0) <= 3000));
});
