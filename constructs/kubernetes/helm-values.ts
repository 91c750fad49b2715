import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Token } from 'cdktf';
import { stringify } from 'yaml';

/** Finds a file or directory of the repository from this module, in the sources or in `dist/`. */
export function repoPath(relative: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${relative} above ${__dirname}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from `override` replace; `undefined` keeps `base`. */
export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

/**
 * Chart values as YAML. Strings are double-quoted and never folded, so a Terraform reference
 * inside (a token resolved to `${...}`) stays one intact, valid YAML scalar after interpolation.
 */
export function toHelmValues(values: unknown): string {
  return stringify(values, { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', aliasDuplicateObjects: false });
}

/** Terraform reads `${` and `%{` in strings as templates; literal text (dashboard JSON) must escape them. */
export function escapeTerraformTemplate(text: string): string {
  if (Token.isUnresolved(text)) throw new Error('escapeTerraformTemplate: text must not contain Terraform references');
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
