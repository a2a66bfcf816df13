export const adminKeys = {
  all: ["admin"] as const,
  businesses: ["admin", "businesses"] as const,
  shards: ["admin", "shards"] as const,
  calls: ["admin", "calls"] as const,
  flags: ["admin", "flags"] as const,
  businessFlags: ["admin", "business-flags"] as const,
  assignment: ["admin", "assignment"] as const,
  quarantine: ["admin", "quarantine"] as const,
};
