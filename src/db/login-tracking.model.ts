// Flask-Security's trackable fields, one document per user (_id = the user's id). They live apart
// from the user document on purpose: FerretDB v1 writes an update back as the whole document, so a
// login's tracking update racing a password reset, an access reset or a deactivation of the same
// user could write the old uniquifier, hash or flag back (measured: 11 of 20 rounds). Nothing
// security-relevant is in this document.
import { Schema, type Connection, type Model, type Types } from "mongoose";

export interface LoginTrackingData {
  _id: Types.ObjectId;
  lastLoginAt?: Date | null;
  lastLoginIp?: string | null;
  currentLoginAt?: Date | null;
  currentLoginIp?: string | null;
  loginCount: number;
}

const loginTrackingSchema = new Schema<LoginTrackingData>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    lastLoginAt: { type: Date, default: null },
    lastLoginIp: { type: String, default: null },
    currentLoginAt: { type: Date, default: null },
    currentLoginIp: { type: String, default: null },
    loginCount: { type: Number, default: 0 },
  },
  { collection: "login_tracking", versionKey: false, strict: "throw" },
);

export const loginTrackingModel = (conn: Connection): Model<LoginTrackingData> => conn.model<LoginTrackingData>("LoginTracking", loginTrackingSchema);

/** What a user without logins shows. */
export const NO_LOGINS = { lastLoginAt: null, lastLoginIp: null, currentLoginAt: null, currentLoginIp: null, loginCount: 0 } as const;
