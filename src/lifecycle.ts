// Signals of a long-running `michman serve` or `michman worker`: SIGTERM and SIGINT stop it
// gracefully (no new work, running operations get the grace period, then are handed back), a second
// one exits at once; SIGHUP reopens the log files (logrotate) and changes nothing else.
import type { Logger } from 'pino';
import { reopenLogFiles } from './app.js';

/** Beyond the grace period, what closing the API and the database may take before the exit is forced. */
const CLOSE_MARGIN_MS = 15_000;

export function onShutdownSignals(log: Logger, graceSeconds: number, stop: (graceMs: number) => Promise<void>): void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, `${signal} again: exiting now; operations still running are resumed when their leases expire`);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceSeconds }, `${signal}: stopping; no new operations are taken, running ones get ${graceSeconds} s to finish before they are handed back`);
    const force = setTimeout(() => {
      log.error({ signal }, 'shutdown did not end in time: exiting');
      process.exit(1);
    }, graceSeconds * 1000 + CLOSE_MARGIN_MS);
    force.unref();
    stop(graceSeconds * 1000).then(
      () => {
        log.info({ signal }, 'stopped');
        // The log file is written asynchronously: its last lines go out before the exit.
        log.flush(() => process.exit(0));
      },
      (err: unknown) => {
        log.error({ err, signal }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', () => {
    const files = reopenLogFiles();
    log.info({ signal: 'SIGHUP', reopened: files }, 'SIGHUP: log files reopened; nothing else is reloaded (restart to apply configuration changes)');
  });
}
