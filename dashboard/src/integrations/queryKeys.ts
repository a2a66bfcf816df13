/** One query-key factory for the integrations pages: each mutation invalidates exactly what it changes. */
export const integrationKeys = {
  apiKeys: ["integrations", "api-keys"] as const,
  webhooks: ["integrations", "webhooks"] as const,
  deliveries: (id: number) => ["integrations", "webhooks", id, "deliveries"] as const,
  delivery: (id: number, deliveryId: number) => ["integrations", "webhooks", id, "deliveries", deliveryId] as const,
  audit: ["integrations", "audit"] as const,
};
