// Injected by scripts/bundle.mjs into the CommonJS bundles: what the ESM sources read as import.meta.
export const importMetaUrl = require("node:url").pathToFileURL(__filename).href;
export const importMetaResolve = (specifier) => require("node:url").pathToFileURL(require.resolve(specifier)).href;
