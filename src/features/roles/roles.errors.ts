import { defineErrors } from "../../core/errors.js";

export const ROLES = defineErrors({
  ROLE_ALREADY_EXISTS: "A role with this name already exists.",
  ROLE_DOES_NOT_EXIST: "No such role.",
  INVALID_ROLE_NAME: "Role names are 1 to 64 letters, digits, '-', '_' or '.'.",
  INVALID_PERMISSION_NAME: "Permission names are 1 to 64 letters, digits, '-', '_', ':' or '.'.",
});
