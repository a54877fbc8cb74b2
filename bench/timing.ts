// Mean time per call, the one way every bench here times a call.

/** Runs `fn` until `minMs` has passed (at least twice after a warm-up call); mean ms per call. */
export async function timeIt(fn: () => unknown, minMs: number): Promise<number> {
  await fn();
  let calls = 0;
  const t = performance.now();
  while (calls < 2 || performance.now() - t < minMs) {
    await fn();
    calls++;
  }
  return (performance.now() - t) / calls;
}
