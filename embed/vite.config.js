import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

// `npm run dev` proxies the API to a running `parley serve` on :8080.
export default defineConfig({
  plugins: [
    // <emoji-picker> is a web component (emoji-picker-element), not Vue's
    vue({ template: { compilerOptions: { isCustomElement: (tag) => tag === 'emoji-picker' } } }),
    tailwindcss(),
  ],
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets' },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
})
