/** How Durable Objects are addressed: one place, so every caller reaches the same object. */

/** The BusinessDO of a business. */
export const businessObjectName = (businessId: number): string => `business:${businessId}`;

/** The single CallCapacityDO holding the platform-wide call cap. */
export const PLATFORM_CALLS_OBJECT_NAME = "global";

/** The LiveHubDO holding a business's dashboard WebSockets. */
export const liveHubObjectName = (businessId: number): string => `live:${businessId}`;
