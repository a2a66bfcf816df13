export const callKeys = {
  all: ["calls"] as const,
  list: (filters: Record<string, string>) => ["calls", "list", filters] as const,
  capacity: ["calls", "capacity"] as const,
};
