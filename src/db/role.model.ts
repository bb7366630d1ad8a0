import { Schema, type Connection, type Model, type HydratedDocument, type Types } from "mongoose";

export interface RoleData {
  _id: Types.ObjectId;
  name: string;
  description: string;
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
}

export type RoleDoc = HydratedDocument<RoleData>;

export const roleSchema = new Schema<RoleData>(
  {
    name: { type: String, required: true, unique: true },
    description: { type: String, default: "" },
    permissions: { type: [String], default: [] },
  },
  { timestamps: true, collection: "roles", strict: "throw" },
);

export const roleModel = (conn: Connection): Model<RoleData> => conn.model<RoleData>("Role", roleSchema);
