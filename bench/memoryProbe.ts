// Preloaded (`node --import`) into the `michman serve` process that bench/memory.ts measures: on an
// IPC message 'memory' it answers with process.memoryUsage() and the VmRSS/VmHWM lines of
// /proc/self/status, as seen from inside the process. Nothing else; the IPC channel is unref'd
// so it never keeps the process alive.
import { readFileSync } from 'node:fs';

export interface MemoryReport {
  usage: NodeJS.MemoryUsage;
  /** kB from /proc/self/status; undefined off Linux. */
  vmRssKb?: number;
  vmHwmKb?: number;
}

function statusKb(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

if (process.send) {
  process.on('message', (msg) => {
    if (msg !== 'memory') return;
    let status = '';
    try {
      status = readFileSync('/proc/self/status', 'utf8');
    } catch {
      /* not Linux */
    }
    const report: MemoryReport = { usage: process.memoryUsage(), vmRssKb: statusKb(status, 'VmRSS'), vmHwmKb: statusKb(status, 'VmHWM') };
    process.send?.(report);
  });
  process.channel?.unref(); // after on('message'), which refs it
}
