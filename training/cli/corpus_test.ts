import assert from "node:assert/strict";
import { fluidsynthAvailable } from "../corpus/fluidsynth.ts";
import { runCli } from "./_run_cli.ts";

const corpus = (args: string[]) => runCli(new URL("./corpus.ts", import.meta.url), args);

Deno.test("corpus CLI prints its help", async () => {
  const r = await corpus(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: deno task corpus/);
  assert.match(r.stdout, /--per-class-genre/);
});

Deno.test("corpus CLI rejects a bad --only and a bad number with one clear line", async () => {
  const bad = await corpus(["--only", "genre,nope"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--only takes a comma-separated subset of genre,emotion,instrument,demo: got genre,nope/,
  );
  const num = await corpus(["--jobs", "0"]);
  assert.equal(num.code, 2);
  assert.match(num.stderr, /--jobs must be an integer >= 1/);
});

Deno.test("corpus CLI renders a tiny instrument corpus and reruns from cache", async () => {
  if (!(await fluidsynthAvailable())) {
    console.log("skipped: fluidsynth is not installed");
    return;
  }
  const out = await Deno.makeTempDir();
  try {
    const args = [
      "--out",
      out,
      "--only",
      "instrument",
      "--per-class-instrument",
      "1",
      "--instrument-seconds",
      "3",
      "--jobs",
      "2",
    ];
    const first = await corpus(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /instrument 4; rendered 4, cached 0/);
    const second = await corpus(args);
    assert.match(second.stdout, /rendered 0, cached 4/);
    assert.ok((await Deno.stat(`${out}/instrument/violin/violin.00000.wav`)).size > 3 * 22050 * 2);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
