// Prints the README configuration table from the config table (src/config/variables.ts).
// `npx tsx scripts/config-table.ts` — a test checks that the README holds exactly this table.
import { CONFIG_VARIABLES } from '../src/config/index.ts'

export function configTable(): string {
  const rows = CONFIG_VARIABLES.map(
    (v) => `| \`${v.name}\` | ${v.default === 'required' ? '**required**' : `\`${v.default}\``} | ${v.description} |`,
  )
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(configTable())
