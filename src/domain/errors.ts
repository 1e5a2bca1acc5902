// The original's error classes (reference §1.3). The class alone decides the HTTP status and title,
// so the API layer can turn any MichmanError into the envelope without knowing where it came from.
export const ErrorClass = {
  Unexpected: 0,
  Database: 100,
  Json: 200,
  Validation: 300,
  Lib: 400,
  ObjectUsed: 500,
  ObjectExists: 600,
  ObjectUnmodified: 700,
  Logs: 800,
  Authorization: 900,
  ObjectNotFound: 1000,
  InputIncorrect: 1100,
  Enforcer: 1200,
  Parse: 1300,
  // Not in the original: request-level failures it never handled (body too large, unknown route).
  PayloadTooLarge: 1400,
  /** A request that clashes with one still in progress (the same Idempotency-Key). */
  Conflict: 1500,
  /** A service Michman depends on (the identity provider) did not answer. */
  Unavailable: 1600,
} as const;
export type ErrorClass = (typeof ErrorClass)[keyof typeof ErrorClass];

const statusOf: Record<number, { status: number; title: string }> = {
  0: { status: 500, title: 'Internal Server Error' },
  100: { status: 500, title: 'Internal Server Error' },
  200: { status: 400, title: 'Bad request' },
  300: { status: 400, title: 'Bad request' },
  400: { status: 500, title: 'Internal Server Error' },
  500: { status: 400, title: 'Bad request' },
  600: { status: 400, title: 'Bad request' },
  700: { status: 400, title: 'Bad request' },
  800: { status: 500, title: 'Internal Server Error' },
  900: { status: 403, title: 'Forbidden' },
  1000: { status: 404, title: 'Object not found' },
  1100: { status: 400, title: 'Bad request' },
  1200: { status: 500, title: 'Internal Server Error' },
  1300: { status: 500, title: 'Internal Server Error' },
  1400: { status: 413, title: 'Payload Too Large' },
  1500: { status: 409, title: 'Conflict' },
  1600: { status: 503, title: 'Service Unavailable' },
};

export class MichmanError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
  ) {
    super(message);
    this.name = 'MichmanError';
  }
  get status(): number {
    return statusOf[this.errorClass]?.status ?? 500;
  }
  get title(): string {
    return statusOf[this.errorClass]?.title ?? 'Internal Server Error';
  }
}

export const validation = (msg: string) => new MichmanError(ErrorClass.Validation, msg);
export const notFound = (object: string, idOrName: string) =>
  new MichmanError(ErrorClass.ObjectNotFound, `${object} with this name or id (${idOrName}) does not exist`);
export const exists = (object: string, idOrName: string) =>
  new MichmanError(ErrorClass.ObjectExists, `${object} with this name or id (${idOrName}) already exists`);
export const unmodified = (msg: string) => new MichmanError(ErrorClass.ObjectUnmodified, msg);
export const used = (msg: string) => new MichmanError(ErrorClass.ObjectUsed, msg);
export const jsonError = (detail?: string) =>
  new MichmanError(ErrorClass.Json, detail ? `incorrect json format: ${detail}` : 'incorrect json format');
export const generatedField = (object: string, field: string) =>
  validation(`${object} '${field}' field is generated and can't be filled by user`);
export const requiredField = (object: string, field: string) =>
  validation(`required ${object} field '${field}' is empty`);
