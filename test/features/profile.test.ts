// The user profile end to end: real HTTP, real database. Every user has an (empty) profile, the
// owner edits it (omitted = unchanged, null or blank = cleared), each field is normalised and
// validated, a bad field saves nothing, and the event names the fields, never their values.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, loginTokens, newAdmin, newUser, startTestServer, uniqueEmail, TEST_PASSWORD, type TestServer, fieldErrors } from "../support/server.js";

const PROFILE_FIELDS = `firstName lastName dateOfBirth phone address city country postalCode avatarUrl updatedAt`;
const MY_PROFILE = /* GraphQL */ `query { me { id profile { ${PROFILE_FIELDS} } } }`;
const UPDATE = /* GraphQL */ `mutation Update($input: UpdateProfileInput!) { updateProfile(input: $input) { ${PROFILE_FIELDS} } }`;


const EMPTY = { firstName: null, lastName: null, dateOfBirth: null, phone: null, address: null, city: null, country: null, postalCode: null, avatarUrl: null, updatedAt: null };

/** The UTC calendar date `days` from now. */
const isoDate = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe("profile", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s?.close());

  const update = (token: string, input: Record<string, unknown>) => s.gql(UPDATE, { input }, { token });
  const profileOf = async (token: string) => {
    const r = await s.gql(MY_PROFILE, {}, { token });
    expect(r.errors).toBeUndefined();
    return r.data?.me.profile;
  };
  /** Sets one field and returns what was stored, or the field errors. */
  const tryField = async (token: string, field: string, value: unknown) => {
    const r = await update(token, { [field]: value });
    return r.errors ? { errors: fieldErrors(r).map((e) => `${e.field}:${e.code}`), code: codeOf(r) } : { value: r.data?.updateProfile[field] };
  };

  it("a new user has an empty profile, with nothing stored for it yet", async () => {
    const u = await newUser(s);
    expect(await profileOf(u.accessToken)).toEqual(EMPTY);
    expect(await s.running.app.features.profile.Profile.countDocuments({ _id: u.id })).toBe(0);
  });

  it("a user created like the CLI does (users.create) has the same empty profile", async () => {
    const email = uniqueEmail("cli");
    await s.running.app.users.create({ email, password: TEST_PASSWORD, roles: ["user"], confirmed: true });
    const u = await loginTokens(s, email);
    expect(await profileOf(u.accessToken)).toEqual(EMPTY);
  });

  it("the owner sets every field; values come back trimmed and normalised, in updateProfile and in me", async () => {
    const u = await newUser(s);
    const before = Date.now();
    const r = await update(u.accessToken, {
      firstName: "  Zoe\u0301  ", // NFD é: stored composed (NFC)
      lastName: "O'Brien-Łukasiewicz",
      dateOfBirth: " 1990-02-28 ",
      phone: "+49 (30) 1234-5678",
      address: "Unter den Linden 1",
      city: "Berlin",
      country: "de",
      postalCode: " sw1a   1aa ",
      avatarUrl: "HTTPS://Example.COM/avatars/../a%20b.png?s=64#x",
    });
    expect(r.errors).toBeUndefined();
    const p = r.data?.updateProfile;
    expect(p).toMatchObject({
      firstName: "Zo\u00e9",
      lastName: "O'Brien-Łukasiewicz",
      dateOfBirth: "1990-02-28",
      phone: "+493012345678",
      address: "Unter den Linden 1",
      city: "Berlin",
      country: "DE",
      postalCode: "SW1A 1AA",
      avatarUrl: "https://example.com/a%20b.png?s=64#x",
    });
    expect(new Date(p.updatedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await profileOf(u.accessToken)).toEqual(p);
    // stored as returned: one document, keyed by the user's id
    const doc = await s.running.app.features.profile.Profile.findById(u.id).lean();
    expect(doc?.firstName).toBe("Zo\u00e9");
    expect(doc?.phone).toBe("+493012345678");
  });

  it("an omitted field is unchanged, null clears it, a blank string clears it", async () => {
    const u = await newUser(s);
    await update(u.accessToken, { firstName: "Ada", lastName: "Lovelace", city: "London" });
    const p1 = (await update(u.accessToken, { city: "Paris" })).data?.updateProfile;
    expect(p1).toMatchObject({ firstName: "Ada", lastName: "Lovelace", city: "Paris" });
    const p2 = (await update(u.accessToken, { firstName: null, lastName: "   " })).data?.updateProfile;
    expect(p2).toMatchObject({ firstName: null, lastName: null, city: "Paris" });
    const doc = await s.running.app.features.profile.Profile.findById(u.id).lean();
    expect(doc && "firstName" in doc).toBe(false); // cleared fields are removed, not kept as ""
    // an empty input changes nothing, not even updatedAt
    const p3 = (await update(u.accessToken, {})).data?.updateProfile;
    expect(p3).toEqual(p2);
  });

  it("several bad fields: one error per bad field, and nothing of the call is saved", async () => {
    const u = await newUser(s);
    await update(u.accessToken, { city: "Rome", firstName: "Old" });
    const r = await update(u.accessToken, {
      firstName: "New", // valid, but must not be saved
      dateOfBirth: "1990-02-30",
      phone: "12345",
      country: "UK",
      postalCode: "12#45",
      avatarUrl: "http://example.com/a.png",
      lastName: "x".repeat(101),
      address: "line one\nline two",
      city: null, // a valid clear, not saved either
    });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(r.data).toBeNull();
    expect(fieldErrors(r).map((e) => `${e.field}:${e.code}`).sort()).toEqual(
      ["address:INVALID_CHARACTERS", "avatarUrl:INVALID_AVATAR_URL", "country:INVALID_COUNTRY", "dateOfBirth:INVALID_DATE_OF_BIRTH", "lastName:TOO_LONG", "phone:PHONE_INVALID", "postalCode:INVALID_POSTAL_CODE"].sort(),
    );
    for (const e of fieldErrors(r)) expect(e.message.length).toBeGreaterThan(5);
    expect(await profileOf(u.accessToken)).toMatchObject({ firstName: "Old", city: "Rome" });
  });

  it("dateOfBirth: a real calendar date YYYY-MM-DD from 1900-01-01 to today", async () => {
    const u = await newUser(s);
    const ok = ["1900-01-01", "2000-02-29", "1999-12-31", isoDate(0)];
    for (const v of ok) expect(await tryField(u.accessToken, "dateOfBirth", v), v).toEqual({ value: v });
    const bad = ["1899-12-31", isoDate(2), "9999-12-31", "2023-02-29", "1990-13-01", "1990-00-10", "1990-01-32", "1990-1-1", "01.02.1990", "1990/01/02", "1990-01-01T00:00:00Z", "19900101", "yesterday", "1990-01-01 ", "+01990-01-01", "１９９０-01-01"];
    for (const v of bad) {
      const got = await tryField(u.accessToken, "dateOfBirth", v);
      if (v === "1990-01-01 ") expect(got, "trimmed").toEqual({ value: "1990-01-01" });
      else expect(got, v).toEqual({ errors: ["dateOfBirth:INVALID_DATE_OF_BIRTH"], code: "BAD_USER_INPUT" });
    }
  });

  it("phone: normalised to E.164", async () => {
    const u = await newUser(s);
    const ok: Array<[string, string]> = [
      ["+14155550123", "+14155550123"],
      ["+1 (415) 555-0123", "+14155550123"],
      ["0044 20 7946 0958", "+442079460958"],
      ["+44.20.7946.0958", "+442079460958"],
      ["+49/30/123456", "+4930123456"],
      ["\u00a0+33 1 23 45 67 89\u00a0", "+33123456789"],
      ["+999999999999999", "+999999999999999"], // 15 digits
    ];
    for (const [v, want] of ok) expect(await tryField(u.accessToken, "phone", v), v).toEqual({ value: want });
    const bad = ["4155550123", "+0123456789", "+1234", "+1234567890123456", "+1 415 555 0123 ext 5", "+1-415-CALL-NOW", "++14155550123", "+1\u0660\u0661\u0662\u0663\u0664\u0665\u0666", "tel:+14155550123", "+"];
    for (const v of bad) expect(await tryField(u.accessToken, "phone", v), v).toEqual({ errors: ["phone:PHONE_INVALID"], code: "BAD_USER_INPUT" });
  });

  it("country: an assigned ISO 3166-1 alpha-2 code, upper-cased", async () => {
    const u = await newUser(s);
    for (const [v, want] of [["gb", "GB"], ["De", "DE"], [" us ", "US"], ["AX", "AX"], ["ZW", "ZW"]] as const) {
      expect(await tryField(u.accessToken, "country", v), v).toEqual({ value: want });
    }
    for (const v of ["UK", "EU", "XK", "ZZ", "AA", "DEU", "D", "D1", "1D", "ＤＥ", "de-DE", "Germany"]) {
      const got = await tryField(u.accessToken, "country", v);
      expect(got.errors?.[0], v).toMatch(/^country:(INVALID_COUNTRY|TOO_LONG)$/);
    }
  });

  it("the built-in country list has the 249 assigned codes, each a region the runtime can name", async () => {
    const { COUNTRY_CODES } = await import("../../src/features/profile/profile.validation.js");
    expect(new Set(COUNTRY_CODES).size).toBe(249);
    const names = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
    expect(COUNTRY_CODES.filter((c) => !names.of(c))).toEqual([]);
  });

  it("postalCode: letters, digits, single inner spaces or dashes; upper-cased", async () => {
    const u = await newUser(s);
    for (const [v, want] of [["10117", "10117"], ["sw1a 1aa", "SW1A 1AA"], ["1234  ab", "1234 AB"], ["00-950", "00-950"], ["K1A 0B1", "K1A 0B1"]] as const) {
      expect(await tryField(u.accessToken, "postalCode", v), v).toEqual({ value: want });
    }
    for (const v of ["12#45", "-1234", "1234-", "12--34", "１２３４５", "ab_cd", "1".repeat(17)]) {
      const got = await tryField(u.accessToken, "postalCode", v);
      expect(got.errors?.[0], v).toMatch(/^postalCode:(INVALID_POSTAL_CODE|TOO_LONG)$/);
    }
  });

  it("avatarUrl: https only, no credentials, no javascript: or data:, stored normalised", async () => {
    const u = await newUser(s);
    const ok: Array<[string, string]> = [
      ["https://cdn.example.com/a.png", "https://cdn.example.com/a.png"],
      ["https://例え.jp/a.png", "https://xn--r8jz45g.jp/a.png"],
      ["https://example.com:8443/x?y=<z>", "https://example.com:8443/x?y=%3Cz%3E"],
    ];
    for (const [v, want] of ok) expect(await tryField(u.accessToken, "avatarUrl", v), v).toEqual({ value: want });
    const bad = [
      "http://example.com/a.png",
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)//https://",
      "data:image/png;base64,iVBORw0KGgo=",
      "data:text/html,<script>alert(1)</script>",
      "https://user:pass@example.com/a.png",
      "https://user@example.com/a.png",
      "https://:pass@example.com/a.png",
      "//example.com/a.png",
      "/a.png",
      "https:example.com/a.png",
      "https:/example.com/a.png",
      "https://exa mple.com/a.png",
      "https:\\\\example.com\\a.png",
      "ftp://example.com/a.png",
      "file:///etc/passwd",
      "https://",
      "not a url",
      "vbscript:msgbox(1)",
    ];
    for (const v of bad) expect(await tryField(u.accessToken, "avatarUrl", v), v).toEqual({ errors: ["avatarUrl:INVALID_AVATAR_URL"], code: "BAD_USER_INPUT" });
    // a tab is a control character, refused before the URL is even parsed (the parser would drop it)
    expect(await tryField(u.accessToken, "avatarUrl", "https://example.com/a\tb.png")).toEqual({ errors: ["avatarUrl:INVALID_CHARACTERS"], code: "BAD_USER_INPUT" });
    const long = `https://example.com/${"a".repeat(2048)}`;
    expect(await tryField(u.accessToken, "avatarUrl", long)).toEqual({ errors: ["avatarUrl:TOO_LONG"], code: "BAD_USER_INPUT" });
    const atLimit = `https://example.com/${"a".repeat(2048 - "https://example.com/".length)}`;
    expect(await tryField(u.accessToken, "avatarUrl", atLimit)).toEqual({ value: atLimit });
  });

  it("text fields: limits in characters after NFC, documented per field", async () => {
    const u = await newUser(s);
    const limits: Record<string, number> = { firstName: 100, lastName: 100, address: 200, city: 100 };
    for (const [field, max] of Object.entries(limits)) {
      expect(await tryField(u.accessToken, field, "ä".repeat(max)), field).toEqual({ value: "ä".repeat(max) });
      // NFD: two code points per letter on the wire, one after NFC: still within the limit
      expect(await tryField(u.accessToken, field, "a\u0308".repeat(max)), `${field} NFD`).toEqual({ value: "ä".repeat(max) });
      // astral characters count once each
      expect(await tryField(u.accessToken, field, "😀".repeat(max)), `${field} astral`).toEqual({ value: "😀".repeat(max) });
      expect(await tryField(u.accessToken, field, "ä".repeat(max + 1)), field).toEqual({ errors: [`${field}:TOO_LONG`], code: "BAD_USER_INPUT" });
    }
  });

  it("emits profile.updated with the names of the fields, never their values", async () => {
    const u = await newUser(s);
    const seen: Array<{ userId: string; fields: string[] }> = [];
    s.running.app.events.on("profile.updated", (e) => void seen.push(e));
    await update(u.accessToken, { firstName: "Secret Name", phone: null });
    await new Promise((r) => setTimeout(r, 50));
    const mine = seen.filter((e) => e.userId === u.id);
    expect(mine).toEqual([{ userId: u.id, fields: ["firstName", "phone"] }]);
    expect(JSON.stringify(mine)).not.toContain("Secret");
    // a refused edit emits nothing
    await update(u.accessToken, { country: "XX" });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.filter((e) => e.userId === u.id)).toHaveLength(1);
  });

  it("an administrator with users-read reads another user's profile; the owner's edit is what they see", async () => {
    const u = await newUser(s);
    await update(u.accessToken, { city: "Oslo" });
    const admin = await newAdmin(s);
    const r = await s.gql(`query($id: ID!) { user(input: { id: $id }) { id profile { city } } }`, { id: u.id }, { token: admin.accessToken });
    expect(r.errors).toBeUndefined();
    expect(r.data?.user).toEqual({ id: u.id, profile: { city: "Oslo" } });
  });

  it("many users' profiles in one request cost one profile query (DataLoader)", async () => {
    const admin = await newAdmin(s);
    const users = await Promise.all([newUser(s), newUser(s), newUser(s)]);
    await Promise.all(users.map((u, i) => update(u.accessToken, { city: `City ${i}` })));
    const Profile = s.running.app.features.profile.Profile;
    let finds = 0;
    const orig = Profile.find.bind(Profile);
    (Profile as unknown as { find: typeof Profile.find }).find = ((...a: Parameters<typeof Profile.find>) => {
      finds++;
      return orig(...a);
    }) as typeof Profile.find;
    try {
      const r = await s.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id profile { city } } } }`, { r: users.map((u) => ({ __typename: "User", id: u.id })) }, { token: admin.accessToken });
      expect(r.errors).toBeUndefined();
      expect(r.data?._entities.map((e: { profile: { city: string } }) => e.profile.city)).toEqual(["City 0", "City 1", "City 2"]);
    } finally {
      (Profile as unknown as { find: typeof Profile.find }).find = orig;
    }
    expect(finds).toBe(1);
  });
});

describe("profile switched off", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ profile: { enabled: false } });
  });
  afterAll(() => s?.close());

  it("neither User.profile nor updateProfile exists", async () => {
    const u = await newUser(s);
    expect(codeOf(await s.gql(MY_PROFILE, {}, { token: u.accessToken }))).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(codeOf(await s.gql(UPDATE, { input: { city: "x" } }, { token: u.accessToken }))).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
