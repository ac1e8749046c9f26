/**
 * Listening parties in the database: the {@linkcode PartyStore} over `parties` and `party_items`.
 * One party per channel is enforced by a partial unique index, so two "start"s at once cannot
 * both win, and ending is a conditional update, so two "stop"s cannot both post a summary.
 * @module
 */
import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import type {
  NewPartyItem,
  PartyChannel,
  PartyItemRecord,
  PartyRecord,
  PartyStore,
  StoredLabel,
} from "../recommend/party.ts";
import type { Db } from "./client.ts";
import { decodeVector, encodeVector } from "./repository.ts";
import { parties, partyItems } from "./schema.ts";

type PartyRow = typeof parties.$inferSelect;

function toParty(row: PartyRow): PartyRecord {
  return {
    id: row.id,
    platform: row.platform,
    channelId: row.channelId,
    name: row.name,
    startedBy: row.startedBy,
    startedAt: new Date(row.startedAt),
    lastActivityAt: new Date(row.lastActivityAt),
    endedAt: row.endedAt === null ? null : new Date(row.endedAt),
  };
}

/**
 * The party store of a database.
 *
 * @param db The open database (migrated).
 * @returns The {@linkcode PartyStore}.
 */
export function createPartyStore(db: Db): PartyStore {
  const activeWhere = (c: PartyChannel) =>
    and(eq(parties.platform, c.platform), eq(parties.channelId, c.channelId), isNull(parties.endedAt));
  const touch = async (partyId: number) => {
    await db.orm.update(parties).set({ lastActivityAt: sql`now()` }).where(eq(parties.id, partyId));
  };
  return {
    async start(channel, name, startedBy) {
      const rows = await db.orm.insert(parties)
        .values({ platform: channel.platform, channelId: channel.channelId, name, startedBy })
        .onConflictDoNothing()
        .returning();
      return rows[0] ? toParty(rows[0]) : undefined;
    },

    async active(channel) {
      const rows = await db.orm.select().from(parties).where(activeWhere(channel)).limit(1);
      return rows[0] ? toParty(rows[0]) : undefined;
    },

    async allActive() {
      return (await db.orm.select().from(parties).where(isNull(parties.endedAt)).orderBy(asc(parties.id)))
        .map(toParty);
    },

    async add(partyId: number, items: readonly NewPartyItem[]) {
      // A share still being fetched when the party stopped is not folded into the ended party.
      const [party] = await db.orm.select({ endedAt: parties.endedAt }).from(parties)
        .where(eq(parties.id, partyId));
      if (party === undefined || party.endedAt !== null) return;
      if (items.length > 0) {
        await db.orm.insert(partyItems).values(items.map((i) => ({
          partyId,
          kind: i.kind,
          trackId: i.trackId,
          title: i.title,
          artist: i.artist,
          url: i.url,
          durationSeconds: i.durationSeconds,
          sharedBy: i.by,
          vector: i.vector === null ? null : encodeVector(i.vector),
          labels: i.labels,
          similarity: i.similarity,
        })));
      }
      await touch(partyId);
    },

    touch,

    async items(partyId): Promise<PartyItemRecord[]> {
      const rows = await db.orm.select().from(partyItems).where(eq(partyItems.partyId, partyId))
        .orderBy(asc(partyItems.id));
      return rows.map((r) => ({
        id: r.id,
        partyId: r.partyId,
        kind: r.kind as PartyItemRecord["kind"],
        trackId: r.trackId,
        title: r.title,
        artist: r.artist,
        url: r.url,
        durationSeconds: r.durationSeconds,
        by: r.sharedBy,
        vector: r.vector === null ? null : decodeVector(r.vector),
        labels: r.labels as StoredLabel[],
        similarity: r.similarity,
        createdAt: new Date(r.createdAt),
      }));
    },

    async end(partyId) {
      const rows = await db.orm.update(parties).set({ endedAt: sql`now()` })
        .where(and(eq(parties.id, partyId), isNull(parties.endedAt)))
        .returning();
      return rows[0] ? toParty(rows[0]) : undefined;
    },

    async idleSince(before) {
      return (await db.orm.select().from(parties)
        .where(and(isNull(parties.endedAt), lt(parties.lastActivityAt, before)))
        .orderBy(asc(parties.id))).map(toParty);
    },
  };
}
