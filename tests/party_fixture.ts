/**
 * What every party test starts from: a generated catalog of 14 tracks, a local media site whose
 * `/song.mp3` is another generated clip (for yt-dlp), a clip to share as a file, and the
 * environment that allows that site's links.
 * @module
 */
import { join } from "node:path";
import { createApp } from "../core/app.ts";
import type { Config } from "../core/config.ts";
import { silentLogger } from "../core/logger.ts";
import { writeFixtureAudio, writeFixtureCatalog } from "./catalog_fixture.ts";
import { type MediaSite, startMediaSite } from "./fakes/media_site.ts";

/** A party test's world. */
export interface PartyWorld {
  root: string;
  catalogDir: string;
  site: MediaSite;
  /** A generated clip to share as a file (not in the catalog). */
  clip: string;
  /** Data directory, CPU inference, the site's links allowed, no rate limit in the way. */
  env: Record<string, string>;
  /** Ingests and indexes the catalog with this configuration, then closes that app. */
  index(config: Config): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds the world in a fresh temporary folder.
 *
 * @param clipName The shared clip's file name (its extension picks the format). @default "shared.mp3"
 * @returns The world.
 */
export async function preparePartyWorld(clipName = "shared.mp3"): Promise<PartyWorld> {
  const root = await Deno.makeTempDir({ prefix: "soundalike_party_" });
  const catalogDir = join(root, "catalog");
  await Deno.mkdir(catalogDir);
  await writeFixtureCatalog(catalogDir, 14);
  const linked = join(root, "linked.mp3");
  await writeFixtureAudio(linked, 33);
  const clip = join(root, clipName);
  await writeFixtureAudio(clip, 21);
  const site = await startMediaSite(linked);
  return {
    root,
    catalogDir,
    site,
    clip,
    env: {
      SOUNDALIKE_DATA_DIR: join(root, "data"),
      ORT_PROVIDER: "cpu",
      ORT_THREADS: "1",
      SOUNDALIKE_LINK_HOSTS: site.host,
      SOUNDALIKE_LINK_PRIVATE_HOSTS: site.host,
      SOUNDALIKE_BOT_RATE_PER_MINUTE: "1000",
    },
    async index(config) {
      const app = createApp(config, silentLogger);
      try {
        await app.update(catalogDir);
      } finally {
        await app.close();
      }
    },
    async close() {
      await site.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
