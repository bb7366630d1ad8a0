// What a deleted user left behind: every document of every collection of a test server's database
// that mentions one of the given strings (ids, addresses, usernames), read straight from the
// database. The revocation feed is returned apart: it keeps ids by design (other processes learn
// from it that the tokens died) and is swept after an hour.
import type { TestServer } from "./server.js";

export async function leftovers(s: TestServer, needles: string[]): Promise<{ found: string[]; feed: Array<Record<string, unknown>> }> {
  const db = s.running.db.conn.db;
  if (!db) throw new Error("no database handle");
  const found: string[] = [];
  const feed: Array<Record<string, unknown>> = [];
  const lower = needles.map((n) => n.toLowerCase());
  for (const c of await db.listCollections().toArray()) {
    for (const d of await db.collection(c.name).find({}).toArray()) {
      const json = JSON.stringify(d).toLowerCase();
      if (!lower.some((n) => json.includes(n))) continue;
      if (c.name === "revocations") feed.push(d);
      else found.push(`${c.name}: ${JSON.stringify(d).slice(0, 300)}`);
    }
  }
  return { found, feed };
}
