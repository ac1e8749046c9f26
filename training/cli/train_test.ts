import assert from "node:assert/strict";
import { runCli } from "./_run_cli.ts";

const run = (...args: string[]) => runCli(new URL("./train.ts", import.meta.url), args);

Deno.test("deno task train rejects an unknown task with the usage", async () => {
  const r = await run("--task", "tempo", "--synthetic");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--task must be one of genre, emotion, instrument/);
  assert.match(r.stderr, /Usage: deno task train/);
});

Deno.test("deno task train needs exactly one of --data and --synthetic", async () => {
  const r = await run("--task", "genre");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /exactly one of --data <dir> or --synthetic/);
});

Deno.test("deno task train names a missing dataset folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run("--task", "genre", "--data", `${dir}/nope`, "--layout", "gtzan");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error: Dataset folder not found: .*nope/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
