// Node's own dynamic import(), for ESM-only packages with top-level await (vega probes for the
// optional `canvas` package so): require(esm) refuses those, and so does jest's CommonJS module
// registry, which a TypeScript `import()` compiled to CommonJS goes through. Loaded with
// `createRequire`, this file runs outside jest's sandbox, under `npm start` and the unit tests alike.
module.exports = (specifier) => import(specifier);
