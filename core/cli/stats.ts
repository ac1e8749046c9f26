/**
 * `deno task stats [--json]`: what the catalog and the search indexes hold.
 * @module
 */
import { createApp } from "../app.ts";
import { parseCliArgs, runCli } from "./_run.ts";

const USAGE = `
Usage: deno task stats [--json]

Prints catalog counts (stored tracks, demo vs real, tracks left out by the last reindex, artists,
genres), stored tracks per top genre, and the current index version. Stored tracks are the ones
in the index, so the two counts agree after a reindex. Exit code 75 when the catalog database does
not answer (try again once it is back).
`;

if (import.meta.main) {
  await runCli(USAGE, async ({ config, logger }) => {
    const { values } = parseCliArgs({ json: { type: "boolean" } });
    // An unreachable database is said once, in runCli's failure sentence.
    const app = createApp(config, logger, { logOutages: false });
    try {
      const s = await app.stats();
      if (values.json) {
        console.log(JSON.stringify(s, null, 2));
        return;
      }
      console.log(`Tracks        ${s.tracks} stored (${s.realTracks} real, ${s.demoTracks} demo)`);
      const leftOut = [
        [s.skippedTracks, "tracks skipped (their file could not be embedded)"],
        [s.duplicateTracks, "duplicates"],
        [s.pendingTracks, "waiting for a reindex"],
        [s.removedTracks, "removed, deleted at the next reindex"],
      ].filter(([n]) => n !== 0).map(([n, what]) => `${n} ${what}`);
      if (leftOut.length) console.log(`Not indexed   ${leftOut.join(", ")}`);
      console.log(`Artists       ${s.artists}`);
      console.log(`Albums        ${s.albums}`);
      console.log(`Genres        ${s.genres}`);
      console.log(`Embeddings    ${s.embeddings} cached`);
      console.log(
        `Index         ${
          s.indexVersion === undefined ? "none: run `deno task reindex <catalog-dir>`" : `v${s.indexVersion}`
        }` +
          (s.indexedTracks === undefined ? "" : `, ${s.indexedTracks} tracks`),
      );
      if (s.indexKinds) {
        console.log(`  whole clip  ${s.indexKinds.clip.join(" + ")}`);
        console.log(`  windows     ${s.indexKinds.windows ?? "none (built before segment search)"}`);
      }
      if (s.byTopGenre.length) {
        console.log("\nTracks per top genre:");
        for (const g of s.byTopGenre) console.log(`  ${String(g.count).padStart(6)}  ${g.genre ?? "(none)"}`);
      }
    } finally {
      await app.close();
    }
  });
}
