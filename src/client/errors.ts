// What the client's commands can end with, and the exit code each gives: scripts branch on these, so
// they are part of the command's interface (documented in `michman --help` and README).
export const EXIT = {
  ok: 0,
  /** The server answered 4xx/5xx; its Title and Message are printed. */
  api: 1,
  /** Bad flags, arguments or input files; nothing was sent. */
  usage: 2,
  /** No answer from the server: refused, unresolvable, timed out, not Michman. */
  unreachable: 3,
  /** `watch` (and --wait): the operation ended failed or cancelled. */
  operationFailed: 4,
} as const;

export const EXIT_CODES_HELP = `
Exit codes (michman's client commands):
  0  success
  1  the server refused the request (4xx/5xx); its title and message are printed
  2  usage error: bad flags, arguments or input file (nothing was sent)
  3  the server cannot be reached (connection refused, unknown host, timeout)
  4  watch / --wait: the operation ended failed or cancelled
`;

export class ClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export class UsageError extends ClientError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** A 4xx/5xx with the server's envelope. */
export class ApiError extends ClientError {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title || `HTTP ${status}`}${detail ? `: ${detail}` : ''} (HTTP ${status})`, EXIT.api);
  }
}

export class UnreachableError extends ClientError {
  constructor(message: string) {
    super(message, EXIT.unreachable);
  }
}
