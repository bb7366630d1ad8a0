// Passkeys (WebAuthn credentials) and their ceremony challenges.
//
// A credential's _id IS its credential id (base64url): an insert on a unique _id is the one
// uniqueness FerretDB v1 enforces reliably, so a credential id can never belong to two users.
// Names are unique per user through a compound unique index on fields that are always present.
// Challenges are stored by the SHA-256 of the challenge (a database copy cannot answer one) and
// are spent through a claim (k.claims.once); expiry is checked in queries and swept.
import { Schema, type Connection, type Model, type Types } from "mongoose";

export type WebAuthnUsage = "first" | "secondary";

export interface WebAuthnCredentialData {
  /** The credential id, base64url. */
  _id: string;
  userId: Types.ObjectId;
  /** As the user typed it (NFKC, trimmed, inner whitespace collapsed). */
  name: string;
  /** Lower-cased name: the per-user uniqueness key. */
  nameKey: string;
  usage: WebAuthnUsage;
  /** COSE public key, base64url. */
  publicKey: string;
  /** Signature counter last seen (0 for authenticators that do not count). */
  counter: number;
  transports: string[];
  /** "multiDevice" (synced passkey, backup eligible) or "singleDevice". */
  deviceType: string;
  backedUp: boolean;
  /** The user.id handle the credential was created with (an HMAC of the user id, no PII). */
  userHandle: string;
  aaguid: string;
  createdAt: Date;
  lastUsedAt?: Date | null;
}

const credentialSchema = new Schema<WebAuthnCredentialData>(
  {
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    usage: { type: String, required: true, enum: ["first", "secondary"] },
    publicKey: { type: String, required: true },
    counter: { type: Number, required: true, default: 0 },
    transports: { type: [String], default: [] },
    deviceType: { type: String, required: true },
    backedUp: { type: Boolean, required: true, default: false },
    userHandle: { type: String, required: true },
    aaguid: { type: String, default: "" },
    createdAt: { type: Date, required: true },
    lastUsedAt: { type: Date, default: null },
  },
  { collection: "webauthn_credentials", versionKey: false, strict: "throw" },
);
credentialSchema.index({ userId: 1, nameKey: 1 }, { unique: true });

export type WebAuthnPurpose = "register" | "signin" | "verify" | "second-factor";

export interface WebAuthnChallengeData {
  /** base64url SHA-256 of the challenge. */
  _id: string;
  purpose: WebAuthnPurpose;
  /** Register and verify: the user and session that asked; sign-in: null (the credential decides). */
  userId: Types.ObjectId | null;
  sessionId: Types.ObjectId | null;
  /** Register: the name and usage chosen when the options were asked for. */
  name: string | null;
  usage: WebAuthnUsage | null;
  createdAt: Date;
  expiresAt: Date;
}

const challengeSchema = new Schema<WebAuthnChallengeData>(
  {
    _id: { type: String, required: true },
    purpose: { type: String, required: true, enum: ["register", "signin", "verify", "second-factor"] },
    userId: { type: Schema.Types.ObjectId, default: null },
    sessionId: { type: Schema.Types.ObjectId, default: null },
    name: { type: String, default: null },
    usage: { type: String, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { collection: "webauthn_challenges", versionKey: false, strict: "throw" },
);

export const webauthnModels = (conn: Connection) => ({
  WebAuthnCredential: conn.model<WebAuthnCredentialData>("WebAuthnCredential", credentialSchema) as Model<WebAuthnCredentialData>,
  WebAuthnChallenge: conn.model<WebAuthnChallengeData>("WebAuthnChallenge", challengeSchema) as Model<WebAuthnChallengeData>,
});
