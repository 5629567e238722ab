// tsc emits only JavaScript: copy the data files modules read next to themselves (by
// `new URL('./file', import.meta.url)`) into dist/, so the built package finds them where the
// sources do. Run by `npm run build` after tsc.
import { copyFileSync } from 'node:fs'

const ASSETS = [
  'src/django/validation/common-passwords.txt.gz',
  'src/django/validation/common-passwords.NOTICE',
]
for (const file of ASSETS) copyFileSync(file, `dist/${file}`)
