/** Users as the API shows them: never the password hash. */
import { z } from "@hono/zod-openapi";
import { permissions } from "../../auth/permissions";
import { userRoles } from "../../db/schema";
import { id, timestamp } from "./common";

export const userRole = z.enum(userRoles).openapi("UserRole");

/** What `publicUser()` (routes/auth.ts) returns. */
export const userModel = z
  .strictObject({
    id,
    email: z.string(),
    name: z.string(),
    role: userRole,
    /** Null only for system admins, who belong to no business. */
    businessId: id.nullable(),
    isActive: z.boolean(),
    createdAt: timestamp,
  })
  .openapi("User");

/** The signed-in user as the session resolved it (auth/middleware.ts `AuthContext.user`). */
export const sessionUserModel = z
  .strictObject({ id, email: z.string(), name: z.string(), role: userRole, businessId: id.nullable() })
  .openapi("SessionUser");

export const permissionName = z.enum(Object.keys(permissions) as [keyof typeof permissions]).openapi("Permission");
