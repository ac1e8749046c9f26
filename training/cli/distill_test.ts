import assert from "node:assert/strict";
import { runCli } from "./_run_cli.ts";

const run = (...args: string[]) => runCli(new URL("./distill.ts", import.meta.url), args);

Deno.test("deno task distill refuses a negative or non-numeric term weight before loading anything, naming the flag", async () => {
  for (const flag of ["--contrast-weight", "--relation-weight", "--label-contrast-weight"]) {
    for (const value of ["-1", "heavy"]) {
      const r = await run("--task", "emotion", "--mood", "/nonexistent/mood", `${flag}=${value}`);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} must be a number >= 0: ${value}`));
      assert.match(r.stderr, /Usage: deno task distill/);
    }
  }
  const r = await run(
    "--task",
    "emotion",
    "--mood",
    "/nonexistent/mood",
    "--label-contrast-temperature",
    "0",
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--label-contrast-temperature must be a positive number: 0/);
});

Deno.test("deno task distill answers a mistyped flag or a value that looks like a flag with one line, not a stack trace", async () => {
  for (
    const [args, want] of [
      [["--label-contrast-weigth", "1"], /Unknown option '--label-contrast-weigth'/],
      [["--contrast-weight", "-1"], /Option '--contrast-weight' argument is ambiguous/],
    ] as const
  ) {
    const r = await run("--task", "emotion", "--mood", "/nonexistent/mood", ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.match(r.stderr, /--help lists the options/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
