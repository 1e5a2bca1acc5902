// A task run every `intervalMs`, never twice at once: a tick that comes while the previous run is
// still going is skipped (a slow sweep does not pile up). The timer does not keep the process alive,
// and stop() waits for the run in progress. Shared by the engine's janitor and the clusters' expiry
// sweep; it imports nothing, so any layer may use it.
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  /** `run` handles its own errors: a rejection is dropped so that the next tick still runs. */
  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<void>,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.run()
        .catch(() => undefined)
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** No more runs; resolves when the one in progress (if any) has ended. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
