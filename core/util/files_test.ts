import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { pathExists, sha256File, sha256Files, writeFileAtomic } from "./files.ts";

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

Deno.test("sha256Files() agrees with sha256File() for every file, odd names included, and returns a missing file's error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = ["a.mp3", "we ird*name.mp3", "-starts-with-dash.mp3", "big.bin"];
    for (const [i, name] of names.entries()) {
      await Deno.writeFile(
        `${dir}/${name}`,
        new Uint8Array(name === "big.bin" ? 3_000_000 : 100 + i).fill(i + 1),
      );
    }
    const paths = [...names.map((n) => `${dir}/${n}`), `${dir}/gone.mp3`];
    const got = await sha256Files(paths);
    for (const [i, path] of paths.entries()) {
      if (path.endsWith("gone.mp3")) {
        assert.ok(got[i] instanceof Deno.errors.NotFound, String(got[i]));
      } else {
        assert.equal(got[i], await sha256File(path), path);
      }
    }
    assert.deepEqual(await sha256Files([]), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
