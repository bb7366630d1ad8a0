// Single-use links sent by mail (confirmation now; recovery, change email and magic links later).
// Only the SHA-256 of a token is stored: a copy of the database cannot be turned into working links.
import { Schema, type Connection, type Model, type Types } from "mongoose";

export interface LinkTokenData {
  /** base64url SHA-256 of the token: the lookup key. */
  _id: string;
  /** What the link does ("confirm-email", "reset-password", …); a token never serves another purpose. */
  purpose: string;
  userId: Types.ObjectId;
  /** The user's uniquifier and emailKey when the link was issued: a change of either kills the link. */
  uniquifier: string;
  emailKey: string;
  /** Feature data that is not a secret (change email: the pending new address); absent for most links. */
  data?: string | null;
  createdAt: Date;
  expiresAt: Date;
}

const linkTokenSchema = new Schema<LinkTokenData>(
  {
    _id: { type: String, required: true },
    purpose: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    uniquifier: { type: String, required: true },
    emailKey: { type: String, required: true },
    data: { type: String, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { collection: "link_tokens", versionKey: false, strict: "throw" },
);
linkTokenSchema.index({ userId: 1, purpose: 1 });

export const linkTokenModel = (conn: Connection): Model<LinkTokenData> => conn.model<LinkTokenData>("LinkToken", linkTokenSchema);
