// Vite build of the dashboard (npm run build:web): web/index.html -> web/dist, relative asset URLs
// so the monitor server can serve it from any path; no external resources (works offline).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 200,
    modulePreload: { polyfill: false },
  },
  server: {
    // Development: `npx vite web` with the API proxied to a running `npx limbic serve`.
    proxy: { '/v1': process.env['LIMBIC_URL'] ?? 'http://127.0.0.1:8080' },
  },
});
