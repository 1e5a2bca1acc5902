// Waiting on work that an AbortSignal may cut short.

/** Resolves or rejects with the work, or rejects as soon as the signal aborts (the work may go on). */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The work was started before the call: its own failure is nobody's to hear, and must not
    // surface as an unhandled rejection (seen: a health check whose secret was deleted with its
    // cluster, under a monitor already stopping).
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
