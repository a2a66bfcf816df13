export const appointmentKeys = {
  all: ["appointments"] as const,
  range: (from: string, to: string) => ["appointments", "range", from, to] as const,
};
