// DiskStore: the persistent L2 cache in LMDB (crash-safe, memory-mapped, survives restarts). LMDB maps the file
// into memory, so a garbage or truncated data.mdb crashes the process (SIGSEGV/SIGBUS) and some paths hang: before
// opening, a child process opens and reads the store; if it dies or hangs, the folder is set aside and started fresh.
// A failed write (disk full, I/O error) is a cache miss, never a crash: writes pause for a cool-down, health says why
// and the host's log gets one warning (util/log-events.ts), then they resume on their own once a write succeeds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { open, type RootDatabase } from 'lmdb';
import { decodeEntry, encodeEntry } from './entry-format.js';
import type { EmbeddingStore } from './store.js';
import { publishLog } from '../util/log-events.js';

export class DiskStore implements EmbeddingStore {
  readonly kind = 'disk';
  readonly #db: RootDatabase<Buffer, string>;
  readonly #coolDownMs: number;
  #writeError: string | undefined;
  /** Writes are skipped until this time after one failed. */
  #pausedUntil = 0;

  private constructor(db: RootDatabase<Buffer, string>, coolDownMs: number) {
    this.#db = db;
    this.#coolDownMs = coolDownMs;
  }

  /** The reason the last open set a damaged store aside, if it did. */
  setAside: string | undefined;

  /** `coolDownMs`: how long writes pause after one fails (disk full), default 30 s. */
  static async open(dir: string, options: { probeTimeoutMs?: number; coolDownMs?: number } = {}): Promise<DiskStore> {
    if (/^\/(proc|sys|dev)(\/|$)/.test(dir)) throw new Error(`${dir} is a kernel filesystem, not a place for a cache; choose a directory on disk`);
    fs.mkdirSync(dir, { recursive: true });
    let setAside: string | undefined;
    if (fs.existsSync(`${dir}/data.mdb`)) {
      const problem = await probe(dir, options.probeTimeoutMs ?? 10_000);
      if (problem) {
        const aside = `${dir}.damaged-${Date.now()}`;
        fs.renameSync(dir, aside);
        fs.mkdirSync(dir, { recursive: true });
        setAside = `the disk cache in ${dir} could not be read (${problem}); it was moved to ${aside} and started empty`;
        process.emitWarning(setAside, { code: 'FASTEMBED_DISK_CACHE' });
      }
    }
    quietLmdbCommitErrors();
    // eventTurnBatching off: with it, lmdb-js starts each turn's transaction with an internal promise nobody holds, and a
    // failed commit (disk full) rejects it unhandled, ending the process. setMany batches explicitly instead.
    const db = open<Buffer, string>({ path: dir, encoding: 'binary', compression: false, eventTurnBatching: false });
    const store = new DiskStore(db, options.coolDownMs ?? 30_000);
    store.setAside = setAside;
    return store;
  }

  async get(key: string): Promise<Float32Array | undefined> {
    const entry = this.#db.get(key);
    const vector = decodeEntry(entry);
    if (entry && !vector) await this.#db.remove(key); // corrupt: drop it so it is recomputed
    return vector;
  }

  async set(key: string, vector: Float32Array): Promise<void> {
    await this.setMany([[key, vector]]);
  }

  /** One transaction per call; a failure pauses writes for the cool-down (reads go on). */
  async setMany(entries: Array<[string, Float32Array]>): Promise<void> {
    if (Date.now() < this.#pausedUntil) throw new Error(`disk cache writes paused after: ${this.#writeError}`);
    try {
      await this.#db.batch(() => {
        // Each put's own promise rejects with the batch's: the batch's rejection below is the one acted on.
        for (const [k, v] of entries) this.#db.put(k, encodeEntry(v)).catch(() => undefined);
      });
      if (this.#writeError) publishLog({ level: 'info', component: 'disk_cache', message: `disk cache writes resumed after: ${this.#writeError}` });
      this.#writeError = undefined;
    } catch (err) {
      // lmdb-js rejects a second promise with the system error (its "see commitError for details"); left unhandled
      // it would end the process.
      const detail = await Promise.resolve((err as { commitError?: Promise<never> }).commitError).catch((e: Error) => e.message);
      this.#writeError = `${detail ? `commit failed: ${detail}` : (err as Error).message} (is the disk full?)`;
      this.#pausedUntil = Date.now() + this.#coolDownMs;
      publishLog({
        level: 'warn',
        component: 'disk_cache',
        message: `disk cache write failed: ${this.#writeError}; writes pause for ${this.#coolDownMs} ms and the cache keeps serving what it holds`,
      });
      throw err;
    }
  }

  /** Unhealthy while writes fail (the cache still serves what it holds). */
  health(): { connected: boolean; error?: string } {
    return this.#writeError ? { connected: false, error: `writes failing: ${this.#writeError}` } : { connected: true };
  }

  async clear(): Promise<void> {
    await this.#db.clearAsync();
  }

  async size(): Promise<number | undefined> {
    return (this.#db.getStats() as { entryCount: number }).entryCount;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

/** The console.error wrappers installed (one is enough; another is added if something replaced it since). */
const quieted = new WeakSet<typeof console.error>();

/**
 * lmdb-js prints a failed commit (disk full, I/O error) with console.error, a raw multi-line dump, before it rejects
 * the commit's promise, which setMany turns into health, a cache miss and one log warning. This drops that print, and
 * only it: a lone Error with a numeric (system) code thrown from lmdb's commit code. It is process-wide, so a commit
 * failure of another lmdb database in the process goes unprinted too (its own promise still rejects).
 */
function quietLmdbCommitErrors(): void {
  if (quieted.has(console.error)) return;
  const print = console.error;
  const fromCommit = (args: unknown[]) => {
    const [err] = args;
    if (args.length !== 1 || !(err instanceof Error) || typeof (err as { code?: unknown }).code !== 'number') return false;
    const frame = err.stack?.split('\n').find((line) => line.trimStart().startsWith('at ')) ?? '';
    return /[\\/]lmdb[\\/](?:write\.js|dist[\\/]index\.cjs):/.test(frame);
  };
  const quiet = (...args: unknown[]) => {
    if (!fromCommit(args)) print.apply(console, args);
  };
  quieted.add(quiet);
  console.error = quiet;
}

/** Opens and reads the store in a child process: why it failed (crash, hang, error), or undefined when it is sound. */
function probe(dir: string, timeoutMs: number): Promise<string | undefined> {
  const lmdb = createRequire(import.meta.url).resolve('lmdb');
  const script = `const { open } = require(${JSON.stringify(lmdb)});
    const db = open({ path: ${JSON.stringify(dir)}, encoding: 'binary', compression: false, readOnly: true });
    // Bounded: both ends of the key range (where fresh pages sit) and the stats, not every entry, so a large
    // healthy cache is read in about the same time as a small one and never mistaken for a hung one.
    let n = 0;
    for (const { value } of db.getRange({ limit: 10000 })) if (value.length >= 0) n++;
    for (const { value } of db.getRange({ reverse: true, limit: 10000 })) if (value.length >= 0) n++;
    db.getStats();
    process.stdout.write(String(n));`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`reading it did not finish within ${timeoutMs} ms`);
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal && signal !== 'SIGKILL') resolve(`reading it crashed with ${signal}`);
      else if (code !== 0 && !signal) resolve(`reading it failed: ${err.trim().split('\n').at(-1) ?? `exit ${code}`}`);
      else resolve(undefined);
    });
  });
}
