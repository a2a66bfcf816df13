/** The document's tags: one per resource group, with the machine-to-machine endpoints apart. */
export const TAGS = [
  { name: "Auth", description: "Sign-in, sessions and the signed-in user" },
  { name: "Platform", description: "System administration: businesses, act-as, flags, shard moves" },
  { name: "Business", description: "The business profile, settings and feature flags" },
  { name: "Team", description: "Users of the business and their roles" },
  { name: "Leads", description: "The lead book, statuses, CSV import and export" },
  { name: "Calls", description: "One-to-one calls and the call log" },
  { name: "Campaigns", description: "Bulk call campaigns" },
  { name: "WhatsApp", description: "The WhatsApp session and the inbox" },
  { name: "Broadcasts", description: "One template to many leads" },
  { name: "Scheduled messages", description: "Messages sent at a time of the business's clock" },
  { name: "Appointments", description: "Appointments and their reminders" },
  { name: "Reports", description: "Daily aggregates for the dashboard's charts" },
  { name: "Integrations", description: "API keys, outbound webhooks (Standard Webhooks) and the audit log" },
  { name: "Twilio webhooks", description: "Called by Twilio; authenticated by X-Twilio-Signature" },
  { name: "Shard events", description: "Called by WhatsApp shard nodes; authenticated by HMAC" },
  { name: "Operations", description: "Health, readiness and metrics" },
] as const;

export type Tag = (typeof TAGS)[number]["name"];
