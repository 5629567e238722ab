/**
 * `npm run screenshots`: regenerates the README's three demo images (docs/images/demo-login.png,
 * demo-spa.png, demo-logged-out.png) from the demo's browser test itself, so the pictures show
 * exactly the flow the test proves. Needs what that test needs (Chromium, Django, Postgres,
 * Redis).
 */
import { spawnSync } from 'node:child_process'

const r = spawnSync(process.execPath, ['scripts/test.mjs', 'test/browser/demo.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, DEMO_README_SCREENSHOTS: '1' },
})
if (r.status === 0) {
  console.log('wrote docs/images/demo-login.png, demo-spa.png, demo-logged-out.png')
}
process.exit(r.status ?? 1)
