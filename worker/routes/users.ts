/**
 * The team of a business. Owners manage everyone; admins manage admins and agents, never owners
 * (permissions.canManageRole). Users are deactivated, not deleted, so history keeps its authors.
 */
import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { businessIdOf, requireAuth, requirePermission } from "../auth/middleware";
import { hashPassword } from "../auth/password";
import { canManageRole } from "../auth/permissions";
import { revokeOtherSessions } from "../auth/session";
import { isUniqueViolation } from "../db/errors";
import { users } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { emailSchema, idParam, passwordSchema } from "../lib/schemas";
import { validate } from "../lib/validate";
import { publicUser } from "./auth";

export const userRoutes = new Hono<AppEnv>();
userRoutes.use("/api/users", requireAuth);
userRoutes.use("/api/users/*", requireAuth);

const businessRole = z.enum(["owner", "admin", "agent"]);

userRoutes.get("/api/users", requirePermission("users.read"), async (c) => {
  const rows = await c
    .get("db")()
    .select()
    .from(users)
    .where(eq(users.businessId, businessIdOf(c)))
    .orderBy(asc(users.id));
  return c.json({ users: rows.map(publicUser) });
});

const createUserBody = z
  .object({ email: emailSchema, name: z.string().trim().min(1).max(200), role: businessRole, password: passwordSchema })
  .strict();

userRoutes.post("/api/users", requirePermission("users.manage"), validate("json", createUserBody), async (c) => {
  const body = c.req.valid("json");
  const actor = c.get("auth").user;
  if (!canManageRole(actor.role, body.role)) {
    throw new ApiError("forbidden", `Your role (${actor.role}) may not create a user with role ${body.role}`, {
      field: "role",
    });
  }
  const passwordHash = await hashPassword(body.password, c.get("config").PASSWORD_PBKDF2_ITERATIONS);
  try {
    const [user] = await c
      .get("db")()
      .insert(users)
      .values({ businessId: businessIdOf(c), email: body.email, name: body.name, role: body.role, passwordHash })
      .returning();
    return c.json({ user: publicUser(user!) }, 201);
  } catch (err) {
    if (isUniqueViolation(err, "users_email_key"))
      throw new ApiError("conflict", "email is already in use", { field: "email" });
    throw err;
  }
});

const updateUserBody = z
  .object({ name: z.string().trim().min(1).max(200), role: businessRole, isActive: z.boolean() })
  .partial()
  .strict()
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

userRoutes.patch(
  "/api/users/:id",
  requirePermission("users.manage"),
  validate("param", idParam),
  validate("json", updateUserBody),
  async (c) => {
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
    const [updated] = await db
      .update(users)
      .set({ ...body, updatedAt: new Date() })
      .where(eq(users.id, id))
      .returning();
    if (body.isActive === false) await revokeOtherSessions(db, id, null);
    return c.json({ user: publicUser(updated!) });
  },
);

/** Deactivates (the account stays for history) and signs the user out everywhere. */
userRoutes.delete("/api/users/:id", requirePermission("users.manage"), validate("param", idParam), async (c) => {
  const { id } = c.req.valid("param");
  const target = await manageableUser(c, id);
  if (target.id === c.get("auth").user.id) throw new ApiError("conflict", "You cannot deactivate yourself");
  const db = c.get("db")();
  await db.update(users).set({ isActive: false, updatedAt: new Date() }).where(eq(users.id, id));
  await revokeOtherSessions(db, id, null);
  return c.body(null, 204);
});
