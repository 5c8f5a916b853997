import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import AjvModule from 'ajv-draft-04';
import formatsModule from 'ajv-formats';

/**
 * Validates SARIF against the SARIF 2.1.0 JSON schema as Microsoft's SARIF SDK ships it
 * (@microsoft/jest-sarif: sarif-2.1.0-rtm.5.json, the schema OASIS approved as 2.1.0;
 * JSON Schema draft-04). Its language-tag pattern is not a valid Unicode regex, so
 * patterns are compiled without the u flag.
 */
const require = createRequire(import.meta.url);
const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
// Both packages are CommonJS: under NodeNext the default import is module.exports.
const Ajv = AjvModule.default;
const addFormats = formatsModule.default;
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

/** Schema errors as readable lines; empty when the document is valid SARIF 2.1.0. */
export function sarifErrors(doc: unknown): string[] {
  return validate(doc)
    ? []
    : (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
