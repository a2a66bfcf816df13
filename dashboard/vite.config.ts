/**
 * The dashboard build: plain Vite into dashboard/dist, which the Worker serves as static assets
 * (wrangler.toml [assets]). No dev server of its own: `npm run dev` rebuilds on change
 * (scripts/lib/dashboard-dev.ts) and wrangler serves the result at the Worker's origin.
 */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // The initial JS budget is 200 KB gzipped (tests/browser checks it); pages are split by route.
    chunkSizeWarningLimit: 600,
  },
});
