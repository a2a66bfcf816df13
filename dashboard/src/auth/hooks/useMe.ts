/**
 * The signed-in user, their business and permissions (GET /api/me): the one auth hook.
 * `undefined` while unknown, `null` when signed out.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { Me } from "../../api/types";

export const authKeys = {
  me: ["me"] as const,
  setup: ["setup"] as const,
};

export function useMeQuery() {
  return useQuery<Me | null>({
    queryKey: authKeys.me,
    queryFn: async () => {
      try {
        return await api.auth.me();
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
  });
}

export function useMe(): Me | null | undefined {
  return useMeQuery().data;
}

/** Whether the first-run screen is due (GET /api/setup). An API without it means: no. */
export function useSetupQuery() {
  return useQuery({
    queryKey: authKeys.setup,
    queryFn: async () => {
      try {
        return await api.setup.state();
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
          return { setupRequired: false, tokenRequired: false };
        }
        throw err;
      }
    },
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function useSignedIn() {
  const queryClient = useQueryClient();
  return async () => {
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== authKeys.me[0] });
    await queryClient.invalidateQueries({ queryKey: authKeys.me });
  };
}

export function useSignOut() {
  const queryClient = useQueryClient();
  return async () => {
    try {
      await api.auth.logout();
    } finally {
      queryClient.clear();
      queryClient.setQueryData(authKeys.me, null);
    }
  };
}
