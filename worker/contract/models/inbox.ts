/** The team inbox's own records: private notes and canned replies. */
import { z } from "@hono/zod-openapi";
import { id, timestamp } from "./common";
import { userRefModel } from "./whatsapp";

export const noteModel = z
  .strictObject({
    id,
    body: z.string(),
    author: userRefModel.nullable().openapi({ description: "Null once the author's account is deleted" }),
    createdAt: timestamp,
  })
  .openapi("ConversationNote");

export const cannedReplyModel = z
  .strictObject({
    id,
    shortcut: z.string().openapi({ example: "hours" }),
    body: z.string().openapi({ example: "Hi {first_name}, we are open Sunday to Thursday, 9:00-18:00." }),
    updatedAt: timestamp,
  })
  .openapi("CannedReply");
