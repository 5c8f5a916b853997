import { createReadStream } from 'node:fs';

/**
 * The parts of Terraform's JSON plan (`terraform show -json PLAN`, format 1.x) this
 * toolkit reads. OpenTofu writes the same format.
 * https://developer.hashicorp.com/terraform/internals/json-format
 */
export type Action = 'no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget';

export interface Change {
  actions: Action[];
  before?: unknown;
  after?: unknown;
  after_unknown?: unknown;
  before_sensitive?: unknown;
  after_sensitive?: unknown;
  replace_paths?: Array<Array<string | number>>;
  importing?: { id?: string; identity?: unknown };
  generated_config?: string;
}

export interface ResourceChange {
  address: string;
  previous_address?: string;
  module_address?: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  index?: string | number;
  deposed?: string;
  provider_name?: string;
  change: Change;
  action_reason?: string;
}

export interface DeferredChange {
  reason: string;
  resource_change: ResourceChange;
}

/** Everything of a plan except its (streamed) resource lists. */
export interface PlanHeader {
  format_version?: string;
  terraform_version?: string;
  errored?: boolean;
  complete?: boolean;
  applyable?: boolean;
  output_changes?: Record<string, Change>;
}

export interface PlanHandlers {
  resourceChange?: (rc: ResourceChange) => void;
  resourceDrift?: (rc: ResourceChange) => void;
  deferredChange?: (dc: DeferredChange) => void;
}

const STREAMED = {
  resource_changes: 'resourceChange',
  resource_drift: 'resourceDrift',
  deferred_changes: 'deferredChange',
} as const;
const CAPTURED = new Set(['format_version', 'terraform_version', 'errored', 'complete', 'applyable', 'output_changes']);

const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * Reads a JSON plan as a stream and hands each resource change, drift and deferred
 * change to a handler as soon as it is complete. Only one element is ever parsed at a
 * time and the large parts Terraform repeats (planned_values, prior_state,
 * configuration) are skipped unparsed, so memory stays far below the file's size.
 */
export class PlanJsonScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  private keyParts: Buffer[] = [];
  private keyStart = -1;
  private key = '';
  private mode: 'skip' | 'capture' | 'stream' | 'none' = 'none';
  private valueParts: Buffer[] = [];
  private valueStart = -1;
  private elementParts: Buffer[] = [];
  private elementStart = -1;
  readonly header: PlanHeader = {};
  private sawRoot = false;

  constructor(private readonly handlers: PlanHandlers) {}

  feed(chunk: Buffer): void {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        // Jump to the closing quote with indexOf: strings are most of a plan's bytes.
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        let end = -1;
        for (let from = i; ;) {
          const q = chunk.indexOf(QUOTE, from);
          if (q < 0) break;
          let slashes = 0;
          while (q - slashes - 1 >= i && chunk[q - slashes - 1] === BACKSLASH) slashes++;
          if (slashes % 2 === 0) {
            end = q;
            break;
          }
          from = q + 1;
        }
        if (end < 0) {
          let slashes = 0;
          while (n - slashes - 1 >= i && chunk[n - slashes - 1] === BACKSLASH) slashes++;
          this.escaped = slashes % 2 === 1;
          break;
        }
        i = end;
        this.inString = false;
        if (this.keyStart >= 0) {
          this.keyParts.push(chunk.subarray(this.keyStart, i));
          this.key = Buffer.concat(this.keyParts).toString('utf8');
          this.keyParts = [];
          this.keyStart = -1;
        }
        continue;
      }
      const b = chunk[i] as number;
      if (isSpace(b)) continue;
      if (this.depth === 1) {
        this.atTopLevel(b, chunk, i);
        continue;
      }
      if (b === QUOTE) {
        this.inString = true;
        if (this.depth === 2 && this.mode === 'stream' && this.elementStart < 0) this.elementStart = i;
        continue;
      }
      if (b === OPEN_OBJ || b === OPEN_ARR) {
        if (this.depth === 0) {
          if (b !== OPEN_OBJ) throw new Error('The plan JSON is not an object.');
          this.sawRoot = true;
          this.depth = 1;
          this.expectKey = true;
          continue;
        }
        if (this.depth === 2 && this.mode === 'stream' && this.elementStart < 0) this.elementStart = i;
        this.depth++;
        continue;
      }
      if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        this.depth--;
        if (this.depth === 2 && this.mode === 'stream' && this.elementStart >= 0) this.endElement(chunk, i + 1);
        if (this.depth === 1 && this.mode === 'stream') {
          // The streamed array itself closed.
          this.mode = 'none';
        }
        continue;
      }
      if (this.depth === 2 && this.mode === 'stream') {
        if (b === COMMA) {
          if (this.elementStart >= 0) this.endElement(chunk, i);
        } else if (this.elementStart < 0) {
          this.elementStart = i;
        }
      }
    }
    if (this.keyStart >= 0) {
      this.keyParts.push(chunk.subarray(this.keyStart));
      this.keyStart = 0;
    }
    if (this.valueStart >= 0) {
      this.valueParts.push(chunk.subarray(this.valueStart));
      this.valueStart = 0;
    }
    if (this.elementStart >= 0) {
      this.elementParts.push(chunk.subarray(this.elementStart));
      this.elementStart = 0;
    }
  }

  /** One byte (not whitespace, not inside a string) directly inside the root object. */
  private atTopLevel(b: number, chunk: Buffer, i: number): void {
    if (this.expectKey) {
      if (b === QUOTE) {
        this.inString = true;
        this.keyStart = i + 1;
        this.keyParts = [];
        return;
      }
      if (b === CLOSE_OBJ) {
        this.depth = 0;
        return;
      }
      if (b === COLON) {
        this.expectKey = false;
        this.mode = this.key in STREAMED ? 'stream' : CAPTURED.has(this.key) ? 'capture' : 'skip';
        return;
      }
      throw new Error(`Unexpected byte '${String.fromCharCode(b)}' in the plan JSON.`);
    }
    // Inside the value of `this.key`.
    if (b === COMMA || b === CLOSE_OBJ) {
      if (this.mode === 'capture' && this.valueStart >= 0) this.endCapture(chunk, i);
      this.mode = 'none';
      this.expectKey = true;
      if (b === CLOSE_OBJ) this.depth = 0;
      return;
    }
    if (this.mode === 'capture' && this.valueStart < 0 && this.valueParts.length === 0) this.valueStart = i;
    if (b === QUOTE) {
      this.inString = true;
      return;
    }
    if (b === OPEN_OBJ || b === OPEN_ARR) this.depth++;
  }

  private endCapture(chunk: Buffer, end: number): void {
    this.valueParts.push(chunk.subarray(this.valueStart, end));
    const text = Buffer.concat(this.valueParts).toString('utf8').trim();
    this.valueParts = [];
    this.valueStart = -1;
    (this.header as Record<string, unknown>)[this.key] = JSON.parse(text);
  }

  private endElement(chunk: Buffer, end: number): void {
    this.elementParts.push(chunk.subarray(this.elementStart, end));
    const value = JSON.parse(Buffer.concat(this.elementParts).toString('utf8')) as never;
    this.elementParts = [];
    this.elementStart = -1;
    const handler = this.handlers[STREAMED[this.key as keyof typeof STREAMED]] as ((v: never) => void) | undefined;
    handler?.(value);
  }

  /** Checks that the whole document was seen. */
  finish(): PlanHeader {
    if (!this.sawRoot || this.depth !== 0) throw new Error('The plan JSON ended early (truncated file?).');
    return this.header;
  }
}

/** Streams a JSON plan file through the handlers and returns its header. */
export async function scanPlanFile(path: string, handlers: PlanHandlers): Promise<PlanHeader> {
  const scanner = new PlanJsonScanner(handlers);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 })) scanner.feed(chunk as Buffer);
  return scanner.finish();
}

/** Parses a JSON plan held in memory (tests, small plans). */
export function scanPlanText(text: string, handlers: PlanHandlers): PlanHeader {
  const scanner = new PlanJsonScanner(handlers);
  scanner.feed(Buffer.from(text));
  return scanner.finish();
}

/** A whole plan in memory: header plus lists. */
export interface PlanDocument extends PlanHeader {
  resource_changes: ResourceChange[];
  resource_drift: ResourceChange[];
  deferred_changes: DeferredChange[];
}

export async function readPlanFile(path: string): Promise<PlanDocument> {
  const doc: PlanDocument = { resource_changes: [], resource_drift: [], deferred_changes: [] };
  const header = await scanPlanFile(path, {
    resourceChange: (rc) => doc.resource_changes.push(rc),
    resourceDrift: (rc) => doc.resource_drift.push(rc),
    deferredChange: (dc) => doc.deferred_changes.push(dc),
  });
  return Object.assign(doc, header);
}
