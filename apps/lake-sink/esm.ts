/**
 * Loads an ESM-only package (hyparquet, hyparquet-writer) synchronously through Node's own
 * loader, which supports require(esm) from Node 20.19. `process.getBuiltinModule` reaches the
 * real `module` built-in even under jest, whose CommonJS registry cannot load ESM.
 */
export function requireEsm<T>(specifier: string): T {
  return process.getBuiltinModule('module').createRequire(__filename)(specifier) as T;
}
