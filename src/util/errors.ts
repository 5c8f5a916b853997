/**
 * The one error type for mistakes a user can fix: bad input, missing permissions,
 * a resource in the wrong state. `run()` prints its message (and hint) without a
 * stack trace; any other error is treated as a bug or an outage.
 */
export class UserError extends Error {
  /** What to do about it, printed after the message. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
    this.hint = hint;
  }

  /** Message and hint as one text, the way the job log shows it. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

/** The message of anything thrown, for logs and wrapped errors. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
