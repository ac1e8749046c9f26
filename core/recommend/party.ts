/**
 * Listening parties as stored data: one party per chat channel at a time, and what happened in it
 * (clips shared, tracks suggested in threads, tracks picked by "next"). The bot keeps no party
 * state of its own beyond this, so a restart keeps every party going. `core/db/party.ts` stores it
 * in PostgreSQL (or PGlite).
 * @module
 */
import type { StoredLabel } from "../model/embed.ts";

/** Where a party happens. */
export interface PartyChannel {
  /** `discord`, `slack` or `console`. */
  platform: string;
  /** The platform's channel id. */
  channelId: string;
}

/** A party. */
export interface PartyRecord extends PartyChannel {
  id: number;
  name: string;
  /** Who started it (a display name). */
  startedBy: string;
  startedAt: Date;
  /** The last share, suggestion or command. */
  lastActivityAt: Date;
  /** When it ended; `null` while it is on. */
  endedAt: Date | null;
}

export type { StoredLabel };

/** Something that happened in a party. */
export interface NewPartyItem {
  /** `shared` by someone, `suggested` in a thread, or picked by `next`. */
  kind: "shared" | "suggested" | "next";
  /** The catalog track (suggested and next; shared when the clip is a catalog file). */
  trackId: number | null;
  title: string;
  artist: string | null;
  /** The track's page, or the shared link. */
  url: string | null;
  durationSeconds: number | null;
  /** Who shared it. */
  by: string | null;
  /** The shared clip's vector (shared only), so the vibe survives a restart. */
  vector: Float32Array | null;
  /** What the models heard (shared), or the track's labels when known. */
  labels: StoredLabel[];
  /** The similarity of a suggestion to what it answered, in percent. */
  similarity: number | null;
}

/** A stored item. */
export interface PartyItemRecord extends NewPartyItem {
  id: number;
  partyId: number;
  createdAt: Date;
}

/** Party storage. */
export interface PartyStore {
  /**
   * Starts a party unless one is on in that channel.
   * @returns The new party, or `undefined` when one is already on there.
   */
  start(channel: PartyChannel, name: string, startedBy: string): Promise<PartyRecord | undefined>;
  /** The party on in a channel, if any. */
  active(channel: PartyChannel): Promise<PartyRecord | undefined>;
  /** Every party that is on (to know which channels to listen to after a restart). */
  allActive(): Promise<PartyRecord[]>;
  /** Records items (in order) and marks the party active now; nothing once the party has ended. */
  add(partyId: number, items: readonly NewPartyItem[]): Promise<void>;
  /** Marks the party active now (a command). */
  touch(partyId: number): Promise<void>;
  /** The party's items, oldest first. */
  items(partyId: number): Promise<PartyItemRecord[]>;
  /**
   * Ends a party that is on.
   * @returns The ended party, or `undefined` when it had already ended (another stop won).
   */
  end(partyId: number): Promise<PartyRecord | undefined>;
  /** Parties on whose last activity is before `before`. */
  idleSince(before: Date): Promise<PartyRecord[]>;
}
