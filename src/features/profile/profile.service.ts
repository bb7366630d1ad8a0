// The user profile: optional personal fields in their own collection (see profile.model.ts for
// why), read by the owner or holders of users-read, edited by the owner only. An edit validates
// every given field first and saves nothing if any is bad; then one upsert writes the given fields
// ($set) and clears the nulled ones ($unset).
import type { Model, Types } from "mongoose";
import type { Kernel } from "../../app.js";
import { AppError, CORE, InputCheck } from "../../core/errors.js";
import type { Viewer } from "../../core/viewer.js";
import { PROFILE_FIELDS, profileModel, type ProfileData, type ProfileField } from "./profile.model.js";
import { checkAvatarUrl, checkCountry, checkDateOfBirth, checkName, checkPhone, checkPostalCode } from "./profile.validation.js";

export type ProfileView = { [K in ProfileField]: string | null } & { updatedAt: Date | null };
export type ProfileInput = { [K in ProfileField]?: string | null };

const EMPTY: ProfileView = { ...(Object.fromEntries(PROFILE_FIELDS.map((f) => [f, null])) as { [K in ProfileField]: null }), updatedAt: null };

const viewOf = (doc: ProfileData | null | undefined): ProfileView => {
  if (!doc) return { ...EMPTY };
  const out = { ...EMPTY, updatedAt: doc.updatedAt ?? null };
  for (const f of PROFILE_FIELDS) out[f] = doc[f] ?? null;
  return out;
};

export class ProfileService {
  readonly Profile: Model<ProfileData>;

  constructor(private readonly k: Kernel) {
    // The model is the feature's own; it lives on the kernel's connection.
    this.Profile = profileModel(k.models.User.db);
    // Registered whether or not the feature is enabled: profiles written while it was on are the
    // user's data all the same.
    k.userData.register("profile", async (userId) => {
      await this.Profile.deleteOne({ _id: userId });
    });
  }

  /** Creates the collection up front (concurrent first upserts would otherwise race to create it). */
  async ensureCollection(): Promise<void> {
    await this.Profile.createCollection().catch((e: { codeName?: string }) => {
      if (e.codeName !== "NamespaceExists") throw e;
    });
  }

  async get(userId: Types.ObjectId | string): Promise<ProfileView> {
    return viewOf(await this.Profile.findById(userId).lean());
  }

  /** Profiles of many users in one query (DataLoader batch), in the order asked. */
  async getMany(userIds: readonly string[]): Promise<ProfileView[]> {
    const docs = await this.Profile.find({ _id: { $in: [...userIds] } }).lean();
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    return userIds.map((id) => viewOf(byId.get(id)));
  }

  /** Validates every given field, then writes them all or nothing. */
  async update(viewer: Viewer, input: ProfileInput): Promise<ProfileView> {
    const values = this.validate(input);
    const set: Record<string, string> = {};
    const unset: Record<string, ""> = {};
    for (const [field, value] of Object.entries(values)) {
      if (value === null) unset[field] = "";
      else set[field] = value;
    }
    const fields = Object.keys(values);
    if (fields.length === 0) return this.get(viewer.user._id);
    const now = this.k.clock.now();
    const update: Record<string, unknown> = { $set: { ...set, updatedAt: now }, $setOnInsert: { createdAt: now } };
    if (Object.keys(unset).length) update.$unset = unset;
    await this.Profile.updateOne({ _id: viewer.user._id }, update, { upsert: true });
    // This request passed authentication before a deletion of the account may have begun; what it
    // wrote must not outlive the account (user-data.ts explains why this check is enough).
    if (await this.k.userData.isGone(viewer.user._id)) {
      await this.Profile.deleteOne({ _id: viewer.user._id });
      throw new AppError(CORE.UNAUTHENTICATED, { reason: "revoked" });
    }
    this.k.events.emit("profile.updated", { userId: viewer.userId, fields });
    return this.get(viewer.user._id);
  }

  private validate(input: ProfileInput): ProfileInput {
    const check = new InputCheck();
    const now = this.k.clock.now();
    const out: ProfileInput = {
      firstName: checkName(check, "firstName", input.firstName),
      lastName: checkName(check, "lastName", input.lastName),
      dateOfBirth: checkDateOfBirth(check, input.dateOfBirth, now),
      phone: checkPhone(check, input.phone),
      address: checkName(check, "address", input.address),
      city: checkName(check, "city", input.city),
      country: checkCountry(check, input.country),
      postalCode: checkPostalCode(check, input.postalCode),
      avatarUrl: checkAvatarUrl(check, input.avatarUrl),
    };
    check.throwIfAny();
    // Keep only the fields that were given (undefined = leave unchanged).
    return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as ProfileInput;
  }
}
