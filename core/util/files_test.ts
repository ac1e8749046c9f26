import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { pathExists, sha256File, writeFileAtomic } from "./files.ts";

Deno.test("sha256File() matches an in-memory digest for a multi-chunk file", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
  await Deno.writeFile(`${dir}/x.bin`, bytes);
  assert.equal(await sha256File(`${dir}/x.bin`), createHash("sha256").update(bytes).digest("hex"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic() replaces content and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  await writeFileAtomic(`${dir}/f.json`, "old");
  await writeFileAtomic(`${dir}/f.json`, "new");
  assert.equal(await Deno.readTextFile(`${dir}/f.json`), "new");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["f.json"]);
  assert.equal(await pathExists(`${dir}/f.json`), true);
  assert.equal(await pathExists(`${dir}/nope`), false);
  await Deno.remove(dir, { recursive: true });
});
