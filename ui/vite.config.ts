import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The UI is served by Tauri from dist/ (no remote content), and by Vite's
// dev server on a fixed port during `tauri dev`. The target is the oldest
// WebKitGTK the supported distributions ship (Safari 16's engine or newer),
// so class private fields stay native instead of becoming helper calls.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari16", outDir: "dist", emptyOutDir: true, sourcemap: false },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
