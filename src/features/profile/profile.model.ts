// The profile lives in its own collection, one document per user keyed by the user's id, written
// on the first edit (no document = the empty profile every user has). Not embedded in the user
// document: FerretDB v1 writes an update back as the whole document without isolation, and
// measured here an update of one field of a user document racing another update lost one of them
// in every round (a racing uniquifier rotation was undone in 11 of 20). Profile edits, the most
// frequent user-made writes, must not be able to undo a password change, a rotation or a
// deactivation. It also keeps personal data out of the per-process session/user cache.
import { Schema, type Connection, type Model, type Types } from "mongoose";

export const PROFILE_FIELDS = ["firstName", "lastName", "dateOfBirth", "phone", "address", "city", "country", "postalCode", "avatarUrl"] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export type ProfileData = { _id: Types.ObjectId; createdAt: Date; updatedAt: Date } & { [K in ProfileField]?: string | null };

const profileSchema = new Schema<ProfileData>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    firstName: { type: String },
    lastName: { type: String },
    dateOfBirth: { type: String },
    phone: { type: String },
    address: { type: String },
    city: { type: String },
    country: { type: String },
    postalCode: { type: String },
    avatarUrl: { type: String },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: "profiles", versionKey: false, strict: "throw" },
);

export const profileModel = (conn: Connection): Model<ProfileData> => conn.model<ProfileData>("Profile", profileSchema);
