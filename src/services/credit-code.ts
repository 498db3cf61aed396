// The credit-code check lives in src/registry/credit-code.ts; this re-export only serves
// test/helpers/app.ts until its import moves there too.
export * from '../registry/credit-code.js';
