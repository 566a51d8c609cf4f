import { fileURLToPath } from 'node:url'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

// Built into dashboard/dist and served by src/http/plugins/dashboard.ts: hashed files under /assets are
// cached for good, index.html is revalidated on every load.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `npm run dev:dashboard` against a local `tally serve`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
