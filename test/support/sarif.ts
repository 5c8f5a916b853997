import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import addFormats from 'ajv-formats';
import Ajv from 'ajv-draft-04';

/**
 * Validates SARIF against the SARIF 2.1.0 JSON schema as Microsoft's SARIF SDK ships it
 * (@microsoft/jest-sarif: sarif-2.1.0-rtm.5.json, the schema OASIS approved as 2.1.0;
 * JSON Schema draft-04). Its language-tag pattern is not a valid Unicode regex, so
 * patterns are compiled without the u flag.
 */
const require = createRequire(import.meta.url);
const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

/** Schema errors as readable lines; empty when the document is valid SARIF 2.1.0. */
export function sarifErrors(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
