import { defineConfig } from "vite";

// During `npm run dev`, API and signaling calls and the discovery document
// go to a locally running `yunhui up` (default 127.0.0.1:8080; override with
// YUNHUI_URL). Its document names that address, not the dev server's: the
// page then keeps to its own origin (the proxy) and says so.
const server = process.env.YUNHUI_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api/v1/signal": { target: server, ws: true },
      "/api": { target: server },
      "/.well-known": { target: server },
    },
  },
});
