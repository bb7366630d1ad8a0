// isDuplicateKey against the errors the real database engine gives (the embedded FerretDB v1, or
// MONGODB_URI's MongoDB), provoked through the application's own models and indexes: an insert
// clash (E11000), a bulk insert clash (E11000 inside the write errors), an update clash (FerretDB v1:
// code 1 "UNIQUE constraint failed"; MongoDB: E11000), and errors that are not clashes.
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDuplicateKey } from "../../src/core/db-errors.js";
import { registerUser, startTestServer, uniqueEmail, type TestServer } from "../support/server.js";

/** The error a promise rejects with (the test fails if it resolves). */
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the database to refuse this write");
}

describe("isDuplicateKey on real database errors", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s?.close());
  const models = () => s.running.app.models;

  it("an insert on a taken unique _id (claims, identifiers): E11000", async () => {
    const id = `test:${new Types.ObjectId().toHexString()}`;
    await models().Identifier.create({ _id: id, userId: new Types.ObjectId() });
    const err = await errorOf(models().Identifier.create({ _id: id, userId: new Types.ObjectId() }));
    expect(err).toMatchObject({ code: 11000 });
    expect(isDuplicateKey(err)).toBe(true);
  });

  it("an insert on a taken unique field (users.emailKey, roles.name): E11000", async () => {
    const { email } = await registerUser(s);
    const user = (await s.running.app.users.findByEmailKey(email))!;
    const { _id: _omit, ...copy } = user;
    const err = await errorOf(models().User.collection.insertOne({ ...copy, _id: new Types.ObjectId() }));
    expect(err).toMatchObject({ code: 11000 });
    expect(isDuplicateKey(err)).toBe(true);

    const name = `role-${Date.now().toString(36)}`;
    await models().Role.create({ name, description: "", permissions: [] });
    const roleErr = await errorOf(models().Role.create({ name, description: "", permissions: [] }));
    expect(isDuplicateKey(roleErr)).toBe(true);
  });

  it("a bulk insert with a clash: E11000 inside the write errors, also when it is not the first error", async () => {
    const taken = `test:${new Types.ObjectId().toHexString()}`;
    await models().Identifier.create({ _id: taken, userId: new Types.ObjectId() });
    const fresh = () => ({ _id: `test:${new Types.ObjectId().toHexString()}`, userId: new Types.ObjectId() });
    const err = await errorOf(models().Identifier.insertMany([fresh(), { _id: taken, userId: new Types.ObjectId() }, fresh()], { ordered: false }));
    expect(err).toMatchObject({ name: "MongoBulkWriteError" });
    const writeErrors = (err as { writeErrors: Array<{ code: number }> }).writeErrors;
    expect(writeErrors.map((w) => w.code)).toEqual([11000]);
    expect(isDuplicateKey(err)).toBe(true);
    // The same write error behind an unrelated first one (the top-level code is the first's).
    expect(isDuplicateKey({ name: "MongoBulkWriteError", code: 121, message: "Document failed validation", writeErrors: [{ code: 121 }, ...writeErrors] })).toBe(true);
  });

  it("an update onto a taken unique value (users.emailKey): FerretDB v1 says code 1 UNIQUE constraint failed, MongoDB E11000", async () => {
    const a = await registerUser(s);
    const b = await registerUser(s);
    const bUser = (await s.running.app.users.findByEmailKey(b.email))!;
    const err = await errorOf(s.running.app.users.update(bUser._id, { $set: { email: a.email, emailKey: a.email } }));
    const e = err as { code?: unknown; message?: unknown };
    if (e.code === 1) expect(String(e.message)).toMatch(/UNIQUE constraint failed/);
    else expect(e.code).toBe(11000);
    expect(isDuplicateKey(err)).toBe(true);
    // and nothing changed
    expect((await s.running.app.users.findByEmailKey(b.email))?._id.equals(bUser._id)).toBe(true);
  });

  it("errors that are not unique clashes: false", async () => {
    // mongoose validation (no database round trip)
    const validation = await errorOf(models().Identifier.create({ _id: `test:${uniqueEmail()}` }));
    expect(validation).toMatchObject({ name: "ValidationError" });
    expect(isDuplicateKey(validation)).toBe(false);
    // a server error: an unknown update operator
    const badOperator = await errorOf(models().User.collection.updateOne({ _id: new Types.ObjectId() }, { $nope: { a: 1 } } as never, { upsert: true }));
    expect(typeof (badOperator as { code?: unknown }).code).toBe("number");
    expect(isDuplicateKey(badOperator)).toBe(false);
    // code 1 for another reason, and things that are not errors at all
    expect(isDuplicateKey({ code: 1, message: "some other internal error" })).toBe(false);
    expect(isDuplicateKey({ code: "11000" })).toBe(false);
    expect(isDuplicateKey({ writeErrors: [{ code: 2 }, null] })).toBe(false);
    for (const v of [null, undefined, 11000, "E11000 duplicate key error", new Error("E11000 duplicate key error")]) expect(isDuplicateKey(v)).toBe(false);
  });
});
