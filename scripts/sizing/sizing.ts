/**
 * `npm run sizing`: the sizing model's tables (config/sizing.ts) for 10k, 100k and 1M readings
 * per second, as docs/sizing.md shows them. `npm run sizing -- --write` rewrites that part of
 * the doc (a unit test fails while the doc and the model differ).
 */
import * as fs from 'fs';
import * as path from 'path';
import { sizingTables } from '../../config/sizing';

export const SIZING_DOC = path.join(__dirname, '..', '..', 'docs', 'sizing.md');
const BEGIN = '<!-- sizing:begin (npm run sizing -- --write) -->';
const END = '<!-- sizing:end -->';

/** The doc's generated part, between its markers; throws when the markers are missing. */
export function docTables(doc: string): string {
  const from = doc.indexOf(BEGIN);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${SIZING_DOC}: the markers ${BEGIN} and ${END} are missing`);
  return doc.slice(from + BEGIN.length, to).trim();
}

export function withTables(doc: string, tables: string): string {
  docTables(doc);
  return `${doc.slice(0, doc.indexOf(BEGIN) + BEGIN.length)}\n\n${tables}\n\n${doc.slice(doc.indexOf(END))}`;
}

if (require.main === module) {
  const tables = sizingTables();
  if (process.argv.includes('--write')) {
    fs.writeFileSync(SIZING_DOC, withTables(fs.readFileSync(SIZING_DOC, 'utf8'), tables));
    process.stderr.write(`wrote the tables into ${SIZING_DOC}\n`);
  } else {
    process.stdout.write(`${tables}\n`);
  }
}
