import { defineConfig } from 'vitest/config';

// JSX goes through esbuild (no framework plugin): Preact's automatic runtime.
// `npm run dev` proxies the API to a running gateway (RS_UI_API, default the lead's stack).
const api = process.env.RS_UI_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/v1': api,
      '/readyz': api,
      '/healthz': api,
      '/metrics': api,
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
