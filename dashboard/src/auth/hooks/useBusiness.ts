/** The business the user acts on: its timezone and phone region drive every date and phone shown. */
import { useMe } from "./useMe";

export function useBusiness() {
  const business = useMe()?.business;
  return {
    id: business?.id ?? null,
    name: business?.name ?? "",
    timezone: business?.timezone ?? "Asia/Jerusalem",
    phoneRegion: business?.phoneRegion ?? "IL",
    locale: business?.locale ?? "he-IL",
  };
}
