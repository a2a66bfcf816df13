export const broadcastKeys = {
  all: ["broadcasts"] as const,
  list: ["broadcasts", "list"] as const,
  detail: (id: number) => ["broadcasts", "detail", id] as const,
};
