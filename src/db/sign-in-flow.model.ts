// Half-finished sign-ins: a primary method passed, a second factor is still owed. The flow id given
// to the client is a bearer handle on this state, so only its SHA-256 is stored. No session exists
// until the flow is finished.
import { Schema, type Connection, type Model, type Types } from "mongoose";
import type { SessionDelivery } from "./session.model.js";

export interface SignInFlowData {
  /** base64url SHA-256 of the flow id. */
  _id: string;
  userId: Types.ObjectId;
  /** The user's uniquifier at the primary sign-in: a password change or reset kills the flow. */
  uniquifier: string;
  /** The primary method's amr value (pwd, mail, hwk, …). */
  method: string;
  delivery: SessionDelivery;
  /** Methods the user may finish with. */
  methods: string[];
  /** Config requires a second factor and the user has none: the flow sets one up first. */
  setupRequired: boolean;
  createdAt: Date;
  expiresAt: Date;
}

const signInFlowSchema = new Schema<SignInFlowData>(
  {
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    uniquifier: { type: String, required: true },
    method: { type: String, required: true },
    delivery: { type: String, required: true },
    methods: { type: [String], default: [] },
    setupRequired: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { collection: "sign_in_flows", versionKey: false, strict: "throw" },
);

export const signInFlowModel = (conn: Connection): Model<SignInFlowData> => conn.model<SignInFlowData>("SignInFlow", signInFlowSchema);
