// A user's second factors, one document per user (_id = the user's id). Secrets are sealed
// (AES-256-GCM, key from config, bound to the user's id); recovery codes are keyed HMACs; nothing
// here can be read back as a working code.
import { Schema, type Connection, type Model, type Types } from "mongoose";

export interface PendingSetup {
  method: "AUTHENTICATOR" | "EMAIL" | "SMS";
  /** AUTHENTICATOR: the new secret, sealed. */
  secretSealed?: string | null;
  /** SMS: the number being proved, E.164. */
  phone?: string | null;
  /** Who may confirm it: "session:<id>" or "flow:<hash>". */
  context: string;
  expiresAt: Date;
}

export interface SecondFactorData {
  _id: Types.ObjectId;
  authenticator?: { secretSealed: string; createdAt: Date } | null;
  email?: { createdAt: Date } | null;
  sms?: { phone: string; createdAt: Date } | null;
  /** The newest TOTP time step accepted: older steps are refused (each step is also claimed once). */
  lastTotpStep: number;
  recoveryCodes: string[];
  recoveryCodesCreatedAt?: Date | null;
  pending?: PendingSetup | null;
  updatedAt?: Date;
}

const secondFactorSchema = new Schema<SecondFactorData>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    authenticator: { type: new Schema({ secretSealed: { type: String, required: true }, createdAt: { type: Date, required: true } }, { _id: false }), default: null },
    email: { type: new Schema({ createdAt: { type: Date, required: true } }, { _id: false }), default: null },
    sms: { type: new Schema({ phone: { type: String, required: true }, createdAt: { type: Date, required: true } }, { _id: false }), default: null },
    lastTotpStep: { type: Number, default: 0 },
    recoveryCodes: { type: [String], default: [] },
    recoveryCodesCreatedAt: { type: Date, default: null },
    pending: {
      type: new Schema(
        {
          method: { type: String, required: true },
          secretSealed: { type: String, default: null },
          phone: { type: String, default: null },
          context: { type: String, required: true },
          expiresAt: { type: Date, required: true },
        },
        { _id: false },
      ),
      default: null,
    },
  },
  { collection: "second_factors", versionKey: false, strict: "throw", timestamps: { createdAt: false, updatedAt: true } },
);

// Unified sign-in finds a user by a verified SMS number.
secondFactorSchema.index({ "sms.phone": 1 });

export const secondFactorModel = (conn: Connection): Model<SecondFactorData> => conn.model<SecondFactorData>("SecondFactor", secondFactorSchema);
