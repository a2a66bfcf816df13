/**
 * The team of a business. Owners manage everyone; admins manage admins and agents, never owners
 * (permissions.canManageRole). Users are deactivated, not deleted, so history keeps its authors.
 */
import { z } from "@hono/zod-openapi";
import { and, asc, eq } from "drizzle-orm";
import { businessIdOf } from "../auth/middleware";
import { hashPassword } from "../auth/password";
import { canManageRole } from "../auth/permissions";
import { revokeOtherSessions } from "../auth/session";
import { jsonBody, jsonContent, noContent } from "../contract/content";
import { userModel } from "../contract/models/user";
import { apiRoute } from "../contract/route";
import { createRouter } from "../contract/router";
import type { Transaction } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { users } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { publishUnassigned, unassignAllOf } from "../inbox/assignment";
import { emailSchema, idParam, passwordSchema } from "../lib/schemas";
import { audit } from "../services/audit";
import { publicUser } from "./auth";

export const userRoutes = createRouter();

const businessRole = z.enum(["owner", "admin", "agent"]);
const userBody = z.strictObject({ user: userModel });

const listUsers = apiRoute({
  method: "get",
  path: "/api/users",
  tag: "Team",
  summary: "List the business's users, active and deactivated",
  auth: { permission: "users.read" },
  responses: { 200: jsonContent(z.strictObject({ users: z.array(userModel) }), "The team") },
});

userRoutes.openapi(listUsers, async (c) => {
  const rows = await c
    .get("db")()
    .select()
    .from(users)
    .where(eq(users.businessId, businessIdOf(c)))
    .orderBy(asc(users.id));
  return c.json({ users: rows.map(publicUser) }, 200);
});

const createUserBody = z.strictObject({
  email: emailSchema,
  name: z.string().trim().min(1).max(200),
  role: businessRole,
  password: passwordSchema,
});

const createUser = apiRoute({
  method: "post",
  path: "/api/users",
  tag: "Team",
  summary: "Add a user to the business",
  description: "Owners add any role; admins add admins and agents, never owners.",
  auth: { permission: "users.manage" },
  request: { body: jsonBody(createUserBody) },
  responses: { 201: jsonContent(userBody, "The new user") },
  errors: ["conflict"],
});

userRoutes.openapi(createUser, async (c) => {
  const body = c.req.valid("json");
  const actor = c.get("auth").user;
  if (!canManageRole(actor.role, body.role)) {
    throw new ApiError("forbidden", `Your role (${actor.role}) may not create a user with role ${body.role}`, {
      field: "role",
    });
  }
  const passwordHash = await hashPassword(body.password, c.get("config").PASSWORD_PBKDF2_ITERATIONS);
  try {
    const user = await c
      .get("db")()
      .transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values({ businessId: businessIdOf(c), email: body.email, name: body.name, role: body.role, passwordHash })
          .returning();
        await audit(c, tx, {
          businessId: businessIdOf(c),
          action: "user.created",
          targetType: "user",
          targetId: row!.id,
          details: { email: body.email, role: body.role },
        });
        return row!;
      });
    return c.json({ user: publicUser(user) }, 201);
  } catch (err) {
    if (isUniqueViolation(err, "users_email_key"))
      throw new ApiError("conflict", "email is already in use", { field: "email" });
    throw err;
  }
});

const updateUserBody = z
  .strictObject({ name: z.string().trim().min(1).max(200), role: businessRole, isActive: z.boolean() })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one of name, role, isActive" });

async function manageableUser(c: Parameters<typeof businessIdOf>[0], id: number) {
  const [target] = await c
    .get("db")()
    .select()
    .from(users)
    .where(and(eq(users.id, id), eq(users.businessId, businessIdOf(c))));
  if (!target) throw notFound("User");
  const actor = c.get("auth").user;
  if (!canManageRole(actor.role, target.role)) {
    throw new ApiError("forbidden", `Your role (${actor.role}) may not manage a user with role ${target.role}`);
  }
  return target;
}

const updateUser = apiRoute({
  method: "patch",
  path: "/api/users/{id}",
  tag: "Team",
  summary: "Rename a user, change its role, or (de)activate it",
  description: "Deactivating signs the user out everywhere. Nobody changes their own role or deactivates themselves.",
  auth: { permission: "users.manage" },
  request: { params: idParam, body: jsonBody(updateUserBody) },
  responses: { 200: jsonContent(userBody, "The updated user") },
  errors: ["not_found", "conflict"],
});

userRoutes.openapi(updateUser, async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const actor = c.get("auth").user;
  const target = await manageableUser(c, id);
  if (body.role && !canManageRole(actor.role, body.role)) {
    throw new ApiError("forbidden", `Your role (${actor.role}) may not grant role ${body.role}`, { field: "role" });
  }
  if (target.id === actor.id && (body.isActive === false || (body.role && body.role !== target.role))) {
    throw new ApiError("conflict", "You cannot deactivate yourself or change your own role", {
      field: body.role ? "role" : "isActive",
    });
  }
  const db = c.get("db")();
  let unassigned: Unassigned | undefined;
  const updated = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ ...body, updatedAt: new Date() })
      .where(eq(users.id, id))
      .returning();
    if (body.role && body.role !== target.role)
      await audit(c, tx, {
        businessId: businessIdOf(c),
        action: "user.role_changed",
        targetType: "user",
        targetId: id,
        details: { email: target.email, from: target.role, to: body.role },
      });
    if (body.isActive === false) unassigned = await onDeactivation(c, tx, target);
    return row;
  });
  if (body.isActive === false) await revokeOtherSessions(db, id, null);
  if (unassigned) await publishUnassigned(c.env, businessIdOf(c), unassigned);
  return c.json({ user: publicUser(updated!) }, 200);
});

/**
 * What a deactivation does besides the flag, by either route, in its transaction: the audit line,
 * and the user's conversations back to Unassigned. Nothing when the user was inactive already.
 */
async function onDeactivation(
  c: Parameters<typeof audit>[0],
  tx: Transaction,
  target: { id: number; email: string; isActive: boolean },
): Promise<Unassigned> {
  if (!target.isActive) return { conversationIds: [], subscribers: [] };
  await audit(c, tx, {
    businessId: businessIdOf(c),
    action: "user.deactivated",
    targetType: "user",
    targetId: target.id,
    details: { email: target.email },
  });
  const actor = c.get("auth").user.id;
  return unassignAllOf(tx, { businessId: businessIdOf(c), userId: target.id, byUserId: actor > 0 ? actor : null });
}

type Unassigned = Awaited<ReturnType<typeof unassignAllOf>>;

/** Deactivates (the account stays for history) and signs the user out everywhere. */
const deactivateUser = apiRoute({
  method: "delete",
  path: "/api/users/{id}",
  tag: "Team",
  summary: "Deactivate a user and sign it out everywhere",
  auth: { permission: "users.manage" },
  request: { params: idParam },
  responses: { 204: { description: "Deactivated" } },
  errors: ["not_found", "conflict"],
});

userRoutes.openapi(deactivateUser, async (c) => {
  const { id } = c.req.valid("param");
  const target = await manageableUser(c, id);
  if (target.id === c.get("auth").user.id) throw new ApiError("conflict", "You cannot deactivate yourself");
  const db = c.get("db")();
  const unassigned = await db.transaction(async (tx) => {
    await tx.update(users).set({ isActive: false, updatedAt: new Date() }).where(eq(users.id, id));
    return onDeactivation(c, tx, target);
  });
  await revokeOtherSessions(db, id, null);
  await publishUnassigned(c.env, businessIdOf(c), unassigned);
  return noContent(c);
});
