// Small collections the kernel owns: one-time claims, identifier claims, limiter hits, the
// revocation feed and the signing key ring. Expiry is always checked in queries and swept
// periodically (FerretDB has no TTL indexes).
import { Schema, type Connection, type Model, type Types } from "mongoose";

/**
 * A claim is a document whose _id can be inserted once. Inserts on a unique key are the one
 * primitive that is atomic on both MongoDB and FerretDB v1 (whose updates are read-modify-write
 * without isolation), so every "exactly once" rule in this project is a claim.
 */
export interface ClaimData {
  _id: string;
  createdAt: Date;
  expiresAt: Date;
}
const claimSchema = new Schema<ClaimData>(
  { _id: { type: String, required: true }, createdAt: { type: Date, required: true }, expiresAt: { type: Date, required: true, index: true } },
  { collection: "claims", versionKey: false },
);

/** Owner of a unique optional identifier ("username:alice"); absent values take no slot. */
export interface IdentifierData {
  _id: string;
  userId: Types.ObjectId;
}
const identifierSchema = new Schema<IdentifierData>(
  { _id: { type: String, required: true }, userId: { type: Schema.Types.ObjectId, required: true, index: true } },
  { collection: "identifiers", versionKey: false },
);

export interface RateHitData {
  key: string;
  at: Date;
  expiresAt: Date;
}
const rateHitSchema = new Schema<RateHitData>(
  { key: { type: String, required: true }, at: { type: Date, required: true }, expiresAt: { type: Date, required: true, index: true } },
  { collection: "rate_limit_hits", versionKey: false },
);
rateHitSchema.index({ key: 1, at: 1 });

export type RevocationKind = "session" | "user" | "roles";
export interface RevocationData {
  kind: RevocationKind;
  /** Session id, user id, or "*" for roles. */
  target: string;
  at: Date;
}
const revocationSchema = new Schema<RevocationData>(
  { kind: { type: String, required: true }, target: { type: String, required: true }, at: { type: Date, required: true, index: true } },
  { collection: "revocations", versionKey: false },
);

export interface SigningKeyData {
  _id: string; // kid
  alg: string;
  publicJwk: Record<string, unknown>;
  /** Private JWK, AES-256-GCM encrypted with a key derived from secrets.encryptionKey. */
  privateJwkSealed: string;
  createdAt: Date;
  /** Newest active key signs; older ones only verify until retiredAt + token lifetime. */
  activatedAt: Date;
  retiredAt?: Date | null;
}
const signingKeySchema = new Schema<SigningKeyData>(
  {
    _id: { type: String, required: true },
    alg: { type: String, required: true },
    publicJwk: { type: Schema.Types.Mixed, required: true },
    privateJwkSealed: { type: String, required: true, select: false },
    createdAt: { type: Date, required: true },
    activatedAt: { type: Date, required: true },
    retiredAt: { type: Date, default: null },
  },
  { collection: "signing_keys", versionKey: false },
);

export const kernelModels = (conn: Connection) => ({
  Claim: conn.model<ClaimData>("Claim", claimSchema) as Model<ClaimData>,
  Identifier: conn.model<IdentifierData>("Identifier", identifierSchema) as Model<IdentifierData>,
  RateHit: conn.model<RateHitData>("RateHit", rateHitSchema) as Model<RateHitData>,
  Revocation: conn.model<RevocationData>("Revocation", revocationSchema) as Model<RevocationData>,
  SigningKey: conn.model<SigningKeyData>("SigningKey", signingKeySchema) as Model<SigningKeyData>,
});
