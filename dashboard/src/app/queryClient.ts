import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "../api/errors";

/** Retries only what may succeed on retry: network failures and 5xx, never 4xx. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (count, err) => count < 2 && !(err instanceof ApiError && err.status < 500),
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}
