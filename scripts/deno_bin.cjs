#!/usr/bin/env node
// node_modules/.bin/deno, as scripts/setup.sh links it. npm's own shim (node_modules/deno/bin.cjs)
// runs the binary with spawnSync and passes no signal on, so a SIGTERM to `deno task bot` (a
// service manager stopping it) killed the shim and left the bot running. This one starts the same
// binary and forwards SIGINT, SIGTERM and SIGHUP to it, then exits as it did. `deno task` runs
// node_modules/.bin commands as JavaScript, which is why this is not a shell script.
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");

const exe = path.resolve(__dirname, "..", "node_modules", "deno", "deno");
const child = spawn(exe, process.argv.slice(2), { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  // process.kill, not child.kill: under Deno (which runs this file inside `deno task`) child.kill
  // reports the child as killed even when it handles the signal and exits 0.
  process.on(signal, () => {
    try {
      process.kill(child.pid, signal);
    } catch { /* already gone */ }
  });
}
child.on("error", (err) => {
  console.error(`Could not start ${exe}: ${err.message} (run: bash scripts/setup.sh)`);
  process.exit(1);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 143)));
