import { Schema, type Connection, type Model, type HydratedDocument, Types } from "mongoose";

export interface UserData {
  _id: Types.ObjectId;
  email: string;
  /** Lower-cased email: the unique lookup key (emails are case-insensitive identities). */
  emailKey: string;
  username?: string | null;
  /** NFKD + lower-cased username; uniqueness lives in the identifiers collection. */
  usernameKey?: string | null;
  passwordHash?: string | null;
  active: boolean;
  confirmedAt?: Date | null;
  /** Rotating uniquifier (Flask-Security's fs_uniquifier): rotating it kills every session. */
  uniquifier: string;
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
}

export type UserDoc = HydratedDocument<UserData>;

export const userSchema = new Schema<UserData>(
  {
    email: { type: String, required: true },
    emailKey: { type: String, required: true, unique: true },
    username: { type: String, default: null },
    usernameKey: { type: String, default: null, index: true },
    passwordHash: { type: String, default: null, select: false },
    active: { type: Boolean, default: true },
    confirmedAt: { type: Date, default: null },
    uniquifier: { type: String, required: true },
    roles: { type: [String], default: [] },
  },
  { timestamps: true, collection: "users", strict: "throw" },
);
userSchema.index({ roles: 1 });

export const userModel = (conn: Connection): Model<UserData> => conn.model<UserData>("User", userSchema);
