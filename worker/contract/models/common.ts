/** Building blocks of response schemas. Responses are strict: an undeclared field is drift. */
import { z } from "@hono/zod-openapi";

/** A timestamp as JSON carries it (Date → ISO 8601 string). */
export const timestamp = z.iso.datetime({ offset: true }).openapi({ example: "2026-12-02T09:30:00.000Z" });
export const id = z.number().int().positive();
