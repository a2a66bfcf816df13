import { useQuery } from "@tanstack/react-query";
import { contract, fromContract } from "../../api/client";
import { callKeys } from "./keys";

/**
 * The gauge's numbers. Kept fresh by live `calls` events; the 15 s refetch only covers calls of
 * other businesses filling the platform cap (they send this business no events).
 */
export function useCallCapacity() {
  return useQuery({
    queryKey: callKeys.capacity,
    queryFn: () => fromContract(contract.GET("/api/calls/capacity")),
    refetchInterval: 15_000,
  });
}
