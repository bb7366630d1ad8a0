import type { Connection } from "mongoose";
import { userModel } from "./user.model.js";
import { roleModel } from "./role.model.js";
import { sessionModel } from "./session.model.js";
import { kernelModels } from "./kernel.models.js";
import { linkTokenModel } from "./link-token.model.js";
import { webauthnModels } from "./webauthn.models.js";
import { signInFlowModel } from "./sign-in-flow.model.js";
import { oneTimeCodeModel } from "./one-time-code.model.js";
import { secondFactorModel } from "./second-factor.model.js";
import { loginTrackingModel } from "./login-tracking.model.js";

export function createModels(conn: Connection) {
  return { User: userModel(conn), Role: roleModel(conn), Session: sessionModel(conn), LinkToken: linkTokenModel(conn), SignInFlow: signInFlowModel(conn), OneTimeCode: oneTimeCodeModel(conn), SecondFactor: secondFactorModel(conn), LoginTracking: loginTrackingModel(conn), ...kernelModels(conn), ...webauthnModels(conn) };
}

export type Models = ReturnType<typeof createModels>;

/** Creates the collections and indexes every model declares (FerretDB and MongoDB alike). */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) {
    await model.createCollection().catch((e: { codeName?: string }) => {
      if (e.codeName !== "NamespaceExists") throw e;
    });
    await model.createIndexes();
  }
}
