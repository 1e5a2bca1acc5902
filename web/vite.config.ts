// The web console's build: Preact JSX compiled by Vite's own transformer (no Babel, no plugin),
// into dist/web, which `michman serve` serves at /. Hashed file names under assets/ let the
// server cache them for a year; index.html is revalidated every time.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline data: URLs and no modulepreload polyfill script: everything is a same-origin file,
    // so the server's Content-Security-Policy can stay 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
