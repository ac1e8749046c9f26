/**
 * `deno task demo`: the README's first command, after `scripts/setup.sh`. Renders a small
 * FMA-shaped demo catalog with the corpus generator (clearly marked as demo tracks), ingests and
 * indexes it, then asks `similar` about a clip that is not in the catalog. Each step is the real
 * CLI a user would run, so the demo also shows the commands.
 * @module
 */
import { join } from "node:path";
import { loadConfig } from "../core/config.ts";

const DEMO_TRACKS = 120;
const deno = Deno.execPath();

async function step(title: string, args: string[]): Promise<void> {
  console.log(`\n==> ${title}\n    deno ${args.join(" ")}`);
  const { code } = await new Deno.Command(deno, { args, stdin: "null", stdout: "inherit", stderr: "inherit" })
    .spawn().status;
  if (code !== 0) {
    console.error(`\nThe demo stopped: \`deno ${args.join(" ")}\` exited with ${code}`);
    Deno.exit(code);
  }
}

const config = loadConfig();
const catalogDir = join(config.dataDir, "demo");
const queryDir = join(config.dataDir, "demo_query");

await step(`Rendering ${DEMO_TRACKS} demo tracks (synthetic audio, FMA layout)`, [
  "task",
  "corpus",
  "--only",
  "demo",
  "--demo-tracks",
  String(DEMO_TRACKS),
  "--out",
  catalogDir,
]);
await step("Indexing the demo catalog", ["task", "reindex", join(catalogDir, "fma_demo"), "--fma", "--demo"]);
await step("Rendering a query clip that is not in the catalog", [
  "task",
  "corpus",
  "--only",
  "demo",
  "--demo-tracks",
  "1",
  "--seed",
  "2026",
  "--out",
  queryDir,
]);
const query = join(queryDir, "fma_demo", "fma_small", "900", "900001.mp3");
await step("Finding the five most similar catalog tracks", ["task", "similar", query, "--timings"]);
console.log(
  `\nTry your own clip: node_modules/.bin/deno task similar <audio-file> [--json]\n` +
    `Try the bot in this terminal (no accounts needed): node_modules/.bin/deno task bot, then /help\n` +
    `The demo catalog is synthetic audio made by the corpus generator; index real FMA data with\n` +
    `node_modules/.bin/deno task reindex <fma-dir> --fma`,
);
