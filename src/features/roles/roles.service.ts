import type { Kernel } from "../../app.js";
import { AppError, FIELD, InputCheck } from "../../core/errors.js";
import { isDuplicateKey } from "../../core/db-errors.js";
import type { RoleData } from "../../db/role.model.js";
import type { LeanUser } from "../../core/auth-state.js";
import { ROLES } from "./roles.errors.js";

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const PERMISSION_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_PERMISSIONS = 100;

export class RoleService {
  constructor(private readonly k: Kernel) {}

  private checkNames(role: string | null, permissions: string[], roleField = "role"): void {
    const check = new InputCheck();
    if (role !== null && !NAME_RE.test(role)) check.add(roleField, ROLES.INVALID_ROLE_NAME);
    if (permissions.length > MAX_PERMISSIONS) check.add("permissions", FIELD.TOO_MANY, `At most ${MAX_PERMISSIONS} permissions at once.`);
    permissions.forEach((p, i) => !PERMISSION_RE.test(p) && check.add(`permissions.${i}`, ROLES.INVALID_PERMISSION_NAME));
    check.throwIfAny();
  }

  async list(): Promise<RoleData[]> {
    return [...(await this.k.authState.roles.get()).values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async bootstrap(roles: Array<{ name: string; description: string; permissions: string[] }>): Promise<void> {
    for (const r of roles) {
      if (await this.k.models.Role.exists({ name: r.name })) continue;
      await this.k.models.Role.create(r).catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err; // another instance created it first
      });
    }
  }

  async create(input: { name: string; description: string; permissions: string[] }, by: string): Promise<RoleData> {
    this.checkNames(input.name, input.permissions, "name");
    if (input.description.length > 500) new InputCheck().add("description", FIELD.TOO_LONG, "At most 500 characters.").throwIfAny();
    try {
      const role = await this.k.models.Role.create({ ...input, permissions: [...new Set(input.permissions)] });
      await this.k.authState.publish("roles", "*");
      this.k.events.emit("role.created", { role: input.name, by });
      return role.toObject();
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError(ROLES.ROLE_ALREADY_EXISTS);
      throw err;
    }
  }

  private async requireRole(name: string): Promise<RoleData> {
    this.checkNames(name, []);
    const role = await this.k.models.Role.findOne({ name }).lean();
    if (!role) throw new AppError(ROLES.ROLE_DOES_NOT_EXIST);
    return role;
  }

  async grant(userId: string, roleName: string, by: string): Promise<LeanUser> {
    await this.requireRole(roleName);
    const updated = await this.k.users.update(userId, { $addToSet: { roles: roleName } });
    await this.k.authState.publish("user", userId);
    this.k.events.emit("role.granted", { userId, role: roleName, by });
    return updated;
  }

  async revoke(userId: string, roleName: string, by: string): Promise<LeanUser> {
    await this.requireRole(roleName);
    const updated = await this.k.users.update(userId, { $pull: { roles: roleName } });
    await this.k.authState.publish("user", userId);
    this.k.events.emit("role.revoked", { userId, role: roleName, by });
    return updated;
  }

  async changePermissions(roleName: string, add: string[], remove: string[], by: string): Promise<RoleData> {
    this.checkNames(roleName, [...add, ...remove]);
    const role = await this.requireRole(roleName);
    const permissions = [...new Set([...role.permissions.filter((p) => !remove.includes(p)), ...add])];
    await this.k.models.Role.updateOne({ _id: role._id }, { $set: { permissions } });
    const updated = await this.k.models.Role.findById(role._id).lean();
    await this.k.authState.publish("roles", "*");
    this.k.events.emit("role.permissionsChanged", { role: roleName, added: add, removed: remove, by });
    return updated ?? role;
  }
}
