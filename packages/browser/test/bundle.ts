/** The browser client as one minified ES module, as a bundler ships it (esbuild). */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Bundles and minifies src/index.ts; the size test measures it and the SPA test serves it. */
export async function bundle(): Promise<string> {
  const out = await build({
    entryPoints: [join(root, 'src', 'index.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    write: false,
  })
  return out.outputFiles[0]?.text ?? ''
}
