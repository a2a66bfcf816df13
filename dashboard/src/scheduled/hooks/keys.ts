export const scheduledKeys = {
  all: ["scheduled-messages"] as const,
  list: (status: string) => ["scheduled-messages", "list", status] as const,
};
