import { defineConfig } from 'vite';

// No plugins: esbuild compiles TSX with the automatic React runtime.
// The build emits no inline script or style (the server's CSP forbids them).
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8090' },
  },
});
