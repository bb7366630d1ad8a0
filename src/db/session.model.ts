import { Schema, type Connection, type Model, type HydratedDocument, type Types } from "mongoose";

export type SessionDelivery = "cookie" | "tokens";

export interface SessionData {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  /** The user's uniquifier when the session began; a rotation makes the session dead. */
  uniquifier: string;
  /** SHA-256 of the opaque cookie token (always set, also for token-only sessions). */
  tokenHash: string;
  delivery: SessionDelivery;
  /** Generation of the current refresh token; each rotation claims the old generation once. */
  refreshGeneration: number;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  idleExpiresAt: Date;
  /** Time of the primary authentication (JWT auth_time). */
  authTime: Date;
  /** Last primary authentication or re-verification: what freshness is measured from. */
  freshAt: Date;
  amr: string[];
  ip: string;
  userAgent: string;
  revokedAt?: Date | null;
  revokedReason?: string | null;
}

export type SessionDoc = HydratedDocument<SessionData>;

export const sessionSchema = new Schema<SessionData>(
  {
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    uniquifier: { type: String, required: true },
    tokenHash: { type: String, required: true, unique: true },
    delivery: { type: String, enum: ["cookie", "tokens"], required: true },
    refreshGeneration: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
    idleExpiresAt: { type: Date, required: true },
    authTime: { type: Date, required: true },
    freshAt: { type: Date, required: true },
    amr: { type: [String], default: [] },
    ip: { type: String, default: "" },
    userAgent: { type: String, default: "" },
    revokedAt: { type: Date, default: null },
    revokedReason: { type: String, default: null },
  },
  { collection: "sessions", strict: "throw" },
);

export const sessionModel = (conn: Connection): Model<SessionData> => conn.model<SessionData>("Session", sessionSchema);
