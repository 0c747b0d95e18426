// The console is built into var/console (never committed) and served by the gateway at /console
// (app/entrypoints/http/console.py). Hashed file names under /console/assets/: cached for a year.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "../../var/console",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // No inline script or style: the page's Content-Security-Policy is script-src 'self'.
    assetsInlineLimit: 0,
  },
});
