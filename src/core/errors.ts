import { CODES, type ErrorCode, EXIT_CODES, HTTP_STATUS } from "./codes.js";

export interface ErrorInit {
  /** Where the problem is: "config.yaml:12:5", "data.csv row 17, column `dur`". */
  where?: string;
  /** What the user should do about it. */
  hint?: string;
  /** Machine-readable facts (shown with --json, never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error class users see. `message` says what was wrong; `where` and `hint` complete the
 * paragraph. Never put stack traces or absolute internals in any of them.
 */
export class NetwardenError extends Error {
  readonly code: ErrorCode;
  readonly where?: string;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, init: ErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "NetwardenError";
    this.code = code;
    this.where = init.where;
    this.hint = init.hint;
    this.details = init.details;
  }

  get exitCode(): number {
    return EXIT_CODES[CODES[this.code].category];
  }

  get httpStatus(): number {
    const info = CODES[this.code] as { category: keyof typeof HTTP_STATUS; http?: number };
    return info.http ?? HTTP_STATUS[info.category];
  }

  /** One paragraph: "CODE: where: message. hint" */
  toParagraph(): string {
    const where = this.where ? `${this.where}: ` : "";
    const msg = this.message.endsWith(".") ? this.message : `${this.message}.`;
    const hint = this.hint ? ` ${this.hint.endsWith(".") ? this.hint : `${this.hint}.`}` : "";
    return `${this.code}: ${where}${msg}${hint}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.where ? { where: this.where } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isNetwardenError(e: unknown): e is NetwardenError {
  return e instanceof NetwardenError;
}

/** Wraps anything thrown into a NetwardenError, keeping coded errors as they are. */
export function asNetwardenError(e: unknown): NetwardenError {
  if (e instanceof NetwardenError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new NetwardenError("NW_INTERNAL", `unexpected failure: ${message}`, {
    hint: "This is a bug in netwarden; please report it with the command you ran",
    cause: e,
  });
}
