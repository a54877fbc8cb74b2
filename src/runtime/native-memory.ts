// Returning memory to the OS after a burst of native work. glibc keeps memory freed on the libuv threads that
// tokenise and run inference in those threads' malloc arenas: after five rounds of 1,000 aborted requests the server
// held ~60 MB more RSS than after its warm-up, all of it free (malloc_trim gave it back). So once no tokenising or
// inference has run for IDLE_MS, the arenas are trimmed, once per burst, on a libuv thread. Nothing is done while
// work continues: there the freed memory is reused.
import { binding } from './binding.js';

const IDLE_MS = 2_000;

let running = 0;
let worked = false;
let timer: NodeJS.Timeout | undefined;
let trims = 0;

/** Counts `work` (a promise of native work) as running until it settles, and returns it. */
export function nativeWork<T>(work: Promise<T>): Promise<T> {
  running++;
  worked = true;
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  return work.finally(() => {
    if (--running === 0) {
      timer = setTimeout(trim, IDLE_MS);
      timer.unref();
    }
  });
}

function trim(): void {
  timer = undefined;
  if (running > 0 || !worked) return;
  worked = false;
  trims++;
  // Best effort: a process that only tokenised may not have the addon at all, and there is nothing to report then.
  try {
    binding().trimMemory().catch(() => {});
  } catch {
    // no addon
  }
}

/** How many times memory was trimmed (for tests and diagnostics). */
export function memoryTrims(): number {
  return trims;
}
