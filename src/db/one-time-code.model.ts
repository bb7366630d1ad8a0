// Short numeric codes sent by mail or SMS (second factor, rescue, unified sign-in). Only a keyed
// HMAC of each code is stored, bound to the user, the purpose and the context it was sent for.
import { Schema, type Connection, type Model, type Types } from "mongoose";

export interface OneTimeCodeData {
  _id: string;
  userId: Types.ObjectId;
  /** What the code is for ("2fa-email", "2fa-sms", "us-email", "setup-sms", …). */
  purpose: string;
  /** What it is bound to (a flow's hash, a pending setup, "" for none). */
  context: string;
  codeHash: string;
  createdAt: Date;
  expiresAt: Date;
}

const oneTimeCodeSchema = new Schema<OneTimeCodeData>(
  {
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    purpose: { type: String, required: true },
    context: { type: String, default: "" },
    codeHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { collection: "one_time_codes", versionKey: false, strict: "throw" },
);
oneTimeCodeSchema.index({ userId: 1, purpose: 1 });

export const oneTimeCodeModel = (conn: Connection): Model<OneTimeCodeData> => conn.model<OneTimeCodeData>("OneTimeCode", oneTimeCodeSchema);
