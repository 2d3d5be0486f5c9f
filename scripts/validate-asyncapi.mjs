// Validates an AsyncAPI document with the official parser (@asyncapi/parser: the AsyncAPI JSON
// Schema plus its semantic rules, with every $ref resolved), offline. tests/deploy.rs runs it
// when scripts/install-deps.sh could install the parser.
//
//   node scripts/validate-asyncapi.mjs PARSER_DIR FILE
//
// PARSER_DIR is the npm prefix holding node_modules/@asyncapi/parser. Prints every diagnostic;
// exits 1 on an error or a warning (informational notes and hints do not fail).
import { createRequire } from 'node:module';
import path from 'node:path';

const [dir, file] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node scripts/validate-asyncapi.mjs PARSER_DIR FILE');
  process.exit(64);
}
const require = createRequire(path.resolve(dir, 'package.json'));
const { Parser, fromFile } = require('@asyncapi/parser');

const severities = ['error', 'warning', 'info', 'hint'];
const { document, diagnostics } = await fromFile(new Parser(), path.resolve(file)).parse();
let failed = !document;
for (const d of diagnostics) {
  const severity = severities[d.severity] ?? String(d.severity);
  console.log(`${severity} ${d.code} at ${d.path.join('.') || '(root)'}: ${d.message}`);
  if (d.severity <= 1) failed = true;
}
if (failed) {
  console.log(`${file}: INVALID`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels`);
