// The profile from an attacker's side: another user can neither read nor edit it (no argument
// names a user; _entities and the admin lookup are guarded), anonymous callers get nothing, and
// every field refuses operator objects, wrong types, oversized and hostile values. What is stored
// is checked in the database itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, newUser, startTestServer, type TestServer, fieldErrors } from "../support/server.js";

const PROFILE_FIELDS = `firstName lastName dateOfBirth phone address city country postalCode avatarUrl updatedAt`;
const MY_PROFILE = /* GraphQL */ `query { me { id profile { ${PROFILE_FIELDS} } } }`;
const UPDATE = /* GraphQL */ `mutation Update($input: UpdateProfileInput!) { updateProfile(input: $input) { ${PROFILE_FIELDS} } }`;

const FIELDS = ["firstName", "lastName", "dateOfBirth", "phone", "address", "city", "country", "postalCode", "avatarUrl"] as const;
const TEXT_FIELDS = ["firstName", "lastName", "address", "city"] as const;
const ENTITIES = /* GraphQL */ `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id profile { firstName city } } } }`;

describe("profile security", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s?.close());

  const update = (token: string | undefined, input: unknown) => s.gql(UPDATE, { input }, token ? { token } : {});
  const stored = (id: string) => s.running.app.features.profile.Profile.findById(id).lean();

  it("another user cannot read it: not through _entities, not through the admin lookup", async () => {
    const victim = await newUser(s);
    await update(victim.accessToken, { firstName: "Victoria", city: "Vienna" });
    const attacker = await newUser(s);

    const ent = await s.gql(ENTITIES, { r: [{ __typename: "User", id: victim.id }] }, { token: attacker.accessToken });
    expect(codeOf(ent)).toBe("FORBIDDEN");
    expect(ent.errors?.[0]?.path).toEqual(["_entities", 0, "profile"]);
    expect(ent.raw).not.toContain("Victoria");
    expect(ent.raw).not.toContain("Vienna");

    const lookup = await s.gql(`query($id: ID!) { user(input: { id: $id }) { id profile { firstName } } }`, { id: victim.id }, { token: attacker.accessToken });
    expect(codeOf(lookup)).toBe("FORBIDDEN");
    expect(lookup.raw).not.toContain("Victoria");

    // their own profile through _entities is fine (self)
    const own = await s.gql(ENTITIES, { r: [{ __typename: "User", id: attacker.id }] }, { token: attacker.accessToken });
    expect(own.errors).toBeUndefined();
  });

  it("aliases do not help: many aliased reads of other users are each refused, none leaks", async () => {
    const victims = await Promise.all([newUser(s), newUser(s), newUser(s)]);
    await Promise.all(victims.map((v, i) => update(v.accessToken, { firstName: `Hidden${i}` })));
    const attacker = await newUser(s);
    const q = `query($r: [_Any!]!) { ${victims.map((_, i) => `a${i}: _entities(representations: $r) { ... on User { id p: profile { firstName } q: profile { city } } }`).join(" ")} }`;
    const r = await s.gql(q, { r: victims.map((v) => ({ __typename: "User", id: v.id })) }, { token: attacker.accessToken });
    expect(r.errors?.length).toBeGreaterThan(0);
    expect(r.errors?.every((e) => e.extensions?.code === "FORBIDDEN")).toBe(true);
    expect(r.raw).not.toMatch(/Hidden\d/);
  });

  it("another user cannot edit it: the mutation has no user argument, and the caller's edit lands on the caller", async () => {
    const victim = await newUser(s);
    await update(victim.accessToken, { firstName: "Original" });
    const attacker = await newUser(s);
    // unknown input fields are refused by the schema, inline or as variables
    for (const input of [{ userId: victim.id, firstName: "Pwned" }, { _id: victim.id, firstName: "Pwned" }, { id: victim.id, firstName: "Pwned" }]) {
      expect(codeOf(await update(attacker.accessToken, input))).toBe("BAD_USER_INPUT");
    }
    const inline = await s.gql(`mutation { updateProfile(input: { firstName: "Pwned" }, userId: "${victim.id}") { firstName } }`, {}, { token: attacker.accessToken });
    expect(codeOf(inline)).toBe("GRAPHQL_VALIDATION_FAILED");
    // a plain edit changes the attacker's own profile only
    expect((await update(attacker.accessToken, { firstName: "Pwned" })).errors).toBeUndefined();
    expect((await stored(victim.id))?.firstName).toBe("Original");
    expect((await stored(attacker.id))?.firstName).toBe("Pwned");
  });

  it("anonymous callers and dead credentials get UNAUTHENTICATED and change nothing", async () => {
    const u = await newUser(s);
    await update(u.accessToken, { city: "Kept" });
    expect(codeOf(await update(undefined, { city: "Anon" }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await s.gql(MY_PROFILE))).toBe("UNAUTHENTICATED");
    expect(codeOf(await update("not-a-token", { city: "Forged" }))).toBe("UNAUTHENTICATED");
    await s.gql(`mutation { logout }`, {}, { token: u.accessToken });
    expect(codeOf(await update(u.accessToken, { city: "After logout" }))).toBe("UNAUTHENTICATED");
    expect((await stored(u.id))?.city).toBe("Kept");
  });

  it("operator objects and wrong types are refused by coercion for every field, and nothing is stored", async () => {
    const u = await newUser(s);
    const hostile: unknown[] = [{ $ne: null }, { $gt: "" }, { $regex: ".*" }, { $where: "1" }, { $set: { roles: ["admin"] } }, ["a", "b"], 42, 1.5, true, {}];
    for (const field of FIELDS) {
      for (const v of hostile) {
        const r = await update(u.accessToken, { [field]: v });
        expect(codeOf(r), `${field}=${JSON.stringify(v)}`).toBe("BAD_USER_INPUT");
        expect(r.data ?? null).toBeNull();
      }
    }
    // operator keys in place of field names are unknown input fields
    for (const input of [{ $set: { firstName: "x" } }, { "firstName.$": "x" }, { roles: ["admin"] }, { "profile.firstName": "x" }]) {
      expect(codeOf(await update(u.accessToken, input)), JSON.stringify(input)).toBe("BAD_USER_INPUT");
    }
    // the input itself must be an object
    for (const input of [null, "x", [], 1]) expect(codeOf(await update(u.accessToken, input))).toBe("BAD_USER_INPUT");
    expect(await stored(u.id)).toBeNull();
    const me = await s.gql(`{ me { roles { name } } }`, {}, { token: u.accessToken });
    expect(me.data?.me.roles).toEqual([{ name: "user" }]);
  });

  it("strings that look like operators, markup or SQL are plain data: stored and returned verbatim", async () => {
    const u = await newUser(s);
    const values = { firstName: "$ne", lastName: '{"$gt":""}', address: "<script>alert(1)</script>", city: "'; DROP TABLE users; --" };
    const r = await update(u.accessToken, values);
    expect(r.errors).toBeUndefined();
    expect(r.data?.updateProfile).toMatchObject(values);
    expect(await stored(u.id)).toMatchObject(values);
    expect(r.headers.get("content-type")).toMatch(/^application\/(graphql-response\+)?json/);
  });

  it("control characters, invisible direction marks, tag characters and unpaired surrogates are refused in every text field", async () => {
    const u = await newUser(s);
    const hostile = [
      "a\u0000b", "a\u0007b", "a\nb", "a\rb", "a\tb", "a\u001bb", "a\u007fb", "a\u0085b", "a\u009bb",
      "a\u2028b", "a\u2029b",
      "admin\u202egnp.exe", "a\u202ab", "a\u2066b", "a\u200eb", "a\u200fb", "a\u061cb",
      "a\u200bb", "a\u2060b", "a\ufeffb", "a\ufffbb",
      "a\u{e0041}\u{e0042}b",
      "a\ud800b", "a\udc00b", "\ud83d",
    ];
    for (const field of TEXT_FIELDS) {
      for (const v of hostile) {
        const r = await update(u.accessToken, { [field]: v });
        expect(fieldErrors(r), `${field}=${JSON.stringify(v)}`).toEqual([expect.objectContaining({ field, code: "INVALID_CHARACTERS" })]);
      }
    }
    expect(await stored(u.id)).toBeNull();
    // joiners that scripts and emoji need are kept
    const ok = await update(u.accessToken, { firstName: "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", lastName: "👩\u200d💻" });
    expect(ok.errors).toBeUndefined();
  });

  it("hostile values in the structured fields are refused with their own codes", async () => {
    const u = await newUser(s);
    const cases: Array<[string, string, string]> = [
      ["phone", "+1 415 555 0123\u0000", "INVALID_CHARACTERS"],
      ["phone", "+1' OR '1'='1", "PHONE_INVALID"],
      ["phone", "+1{\"$ne\":null}", "PHONE_INVALID"],
      ["country", "D\u0000", "INVALID_CHARACTERS"],
      ["country", "$n", "INVALID_COUNTRY"],
      ["postalCode", "<b>1</b>", "INVALID_POSTAL_CODE"],
      ["dateOfBirth", "1990-01-01\u202e", "INVALID_CHARACTERS"],
      ["dateOfBirth", "{\"$gt\":\"\"}", "INVALID_DATE_OF_BIRTH"],
      ["avatarUrl", "javascript:alert(document.cookie)", "INVALID_AVATAR_URL"],
      ["avatarUrl", "java\u0000script:alert(1)", "INVALID_CHARACTERS"],
      ["avatarUrl", " javascript:alert(1)", "INVALID_AVATAR_URL"],
      ["avatarUrl", "data:image/svg+xml,<svg onload=alert(1)>", "INVALID_AVATAR_URL"],
      ["avatarUrl", "https://attacker.example@bank.example/a.png", "INVALID_AVATAR_URL"],
      ["avatarUrl", "https://bank.example\u202e/gnp.a", "INVALID_CHARACTERS"],
      ["avatarUrl", "https://example.com/\u0000.png", "INVALID_CHARACTERS"],
    ];
    for (const [field, v, code] of cases) {
      expect(fieldErrors(await update(u.accessToken, { [field]: v })), `${field}=${JSON.stringify(v)}`).toEqual([expect.objectContaining({ field, code })]);
    }
    expect(await stored(u.id)).toBeNull();
  });

  it("oversized values: TOO_LONG per field without any work on them; a body beyond the limit is 413", async () => {
    const u = await newUser(s);
    const input = Object.fromEntries(FIELDS.map((f) => [f, "9".repeat(5_000)]));
    const r = await update(u.accessToken, input);
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    const codes = Object.fromEntries(fieldErrors(r).map((e) => [e.field, e.code]));
    expect(Object.keys(codes).sort()).toEqual([...FIELDS].sort());
    for (const f of FIELDS) expect(codes[f], f).toBe("TOO_LONG");
    const huge = await update(u.accessToken, { firstName: "x".repeat(200_000) });
    expect(huge.status).toBe(413);
    expect(await stored(u.id)).toBeNull();
  });

  it("aliased updates in one document run one after the other as separate edits; a refused one stops the rest", async () => {
    const u = await newUser(s);
    const r = await s.gql(
      `mutation { a: updateProfile(input: { city: "First" }) { city } b: updateProfile(input: { country: "XX" }) { city } c: updateProfile(input: { city: null, firstName: "Last" }) { city firstName } }`,
      {},
      { token: u.accessToken },
    );
    // updateProfile is non-null: b's error nulls the whole data, and serial execution stops there
    expect(r.data).toBeNull();
    expect(r.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([["b", "BAD_USER_INPUT"]]);
    const doc = await stored(u.id);
    expect(doc?.city).toBe("First"); // a ran and was saved
    expect(doc?.firstName).toBeUndefined(); // c never ran
    // the alias limit still applies
    const many = Array.from({ length: 16 }, (_, i) => `a${i}: updateProfile(input: { city: "c${i}" }) { city }`).join(" ");
    expect(codeOf(await s.gql(`mutation { ${many} }`, {}, { token: u.accessToken }))).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
