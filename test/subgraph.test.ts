// The server as an Apollo Federation 2 subgraph: the SDL endpoint, and batched entity resolution
// of User (one database query for many representations) under the same authorization rules.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestServer, newUser, codeOf, type TestServer, type SignedInUser } from "./support/server.js";

const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on User { id username } } }`;

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe("_service", () => {
  it("serves the subgraph SDL anonymously, with User keyed by id and the federation link", async () => {
    const r = await s.gql(`{ _service { sdl } }`);
    expect(r.errors).toBeUndefined();
    const sdl = r.data!._service.sdl as string;
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/@link\(\s*url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(sdl).toContain("@requiresScopes");
    expect(sdl).toMatch(/roles: \[Role!\]! @requiresScopes/);
  });
});

describe("_entities", () => {
  let viewer: SignedInUser;
  const users: SignedInUser[] = [];
  beforeAll(async () => {
    viewer = await newUser(s);
    for (let i = 0; i < 18; i++) users.push(await newUser(s, { username: `ent${i}x${Date.now().toString(36)}` }));
  });

  it("refuses anonymous callers with UNAUTHENTICATED", async () => {
    const r = await s.gql(ENTITIES, { r: [{ __typename: "User", id: users[0]!.id }] });
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(r.data).toBeNull();
  });

  it("resolves 20 representations in order, null for unknown ids, with ONE users query", async () => {
    const unknownId = "0123456789abcdef01234567";
    const reps = [
      ...users.slice(0, 9).map((u) => ({ __typename: "User", id: u.id })),
      { __typename: "User", id: unknownId },
      ...users.slice(9).map((u) => ({ __typename: "User", id: u.id })),
      { __typename: "User", id: "not-an-object-id" },
    ];
    expect(reps).toHaveLength(20);
    // warm the caller's session cache, so the counted request does only the entity work
    expect((await s.gql(`{ me { id } }`, {}, { token: viewer.accessToken })).data!.me.id).toBe(viewer.id);

    const User = s.running.app.models.User;
    const conn = s.running.db.conn;
    const ops: string[] = [];
    // Count every operation that reaches the users collection on this connection (mongoose's debug hook).
    conn.set("debug", (collection: string, method: string) => {
      if (collection === User.collection.collectionName) ops.push(method);
    });
    const find = vi.spyOn(User, "find"); // counts real calls; the implementation is kept
    try {
      const r = await s.gql(ENTITIES, { r: reps }, { token: viewer.accessToken });
      expect(r.errors).toBeUndefined();
      const got = r.data!._entities as Array<{ __typename: string; id: string; username: string } | null>;
      expect(got).toHaveLength(20);
      const expected = reps.map((rep) => {
        const u = users.find((x) => x.id === rep.id);
        return u ? expect.objectContaining({ __typename: "User", id: u.id }) : null;
      });
      expect(got).toEqual(expected);
      expect(got[9]).toBeNull();
      expect(got[19]).toBeNull();
      expect(got[0]!.username).toMatch(/^ent0x/);
      expect(find).toHaveBeenCalledTimes(1);
      expect(ops).toEqual(["find"]);
    } finally {
      find.mockRestore();
      conn.set("debug", false);
    }
  });

  it("resolves a repeated id once and keeps both positions", async () => {
    const u = users[0]!;
    const find = vi.spyOn(s.running.app.models.User, "find");
    try {
      const r = await s.gql(ENTITIES, { r: [{ __typename: "User", id: u.id }, { __typename: "User", id: u.id }] }, { token: viewer.accessToken });
      expect(r.errors).toBeUndefined();
      expect(r.data!._entities.map((e: { id: string }) => e.id)).toEqual([u.id, u.id]);
      expect(find).toHaveBeenCalledTimes(1);
    } finally {
      find.mockRestore();
    }
  });

  it("does not resolve a dead session's entities", async () => {
    const u = await newUser(s);
    expect((await s.gql(`mutation { logout }`, {}, { token: u.accessToken })).data!.logout).toBe(true);
    const r = await s.gql(ENTITIES, { r: [{ __typename: "User", id: users[0]!.id }] }, { token: u.accessToken });
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
  });

  it("answers a representation of an unknown type as the client's mistake, without echoing it", async () => {
    const r = await s.gql(ENTITIES, { r: [{ __typename: "NoSuchType<script>", id: "1" }] }, { token: viewer.accessToken });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(r.raw).not.toContain("NoSuchType");
  });
});
