/**
 * Bundles the SPA (src/main.ts and the browser client it imports by name) and copies its
 * stylesheet: `dist/app.js` and `dist/app.css`, which the front (server.ts) serves at /spa/.
 */
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))

/** Builds into `outDir` (default dist/ next to this file); resolves with that folder. */
export async function buildSpa(outDir = join(here, 'dist')): Promise<string> {
  await mkdir(outDir, { recursive: true })
  await build({
    entryPoints: [join(here, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    outfile: join(outDir, 'app.js'),
    tsconfig: join(here, 'tsconfig.json'),
    logLevel: 'warning',
  })
  await copyFile(join(here, 'src', 'app.css'), join(outDir, 'app.css'))
  return outDir
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildSpa(process.argv[2])}`)
}
