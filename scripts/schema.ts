// Writes config/tokengate.schema.json from the zod schema (src/config/schema.ts).
// `npm run schema` after changing the schema; test/config/json-schema.unit.test.ts fails until then.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/json-schema.ts';

export const SCHEMA_FILE = new URL('../config/tokengate.schema.json', import.meta.url);

export function schemaFileText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(SCHEMA_FILE, schemaFileText());
  process.stdout.write(`wrote ${SCHEMA_FILE.pathname}\n`);
}
