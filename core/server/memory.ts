/**
 * Making a long-running server give its memory back (issue 13, "memory comes back").
 *
 * Where it stayed, measured with `ppnn serve --model mnist` (VmRSS, idle after each
 * session; scripts and figures in docs/DEPLOY.md):
 * 1. SEAL's WebAssembly memory grows but never shrinks → each session ran in its own
 *    worker thread; now it runs in its own child process (core/server/session-worker.ts),
 *    which also takes the malloc'd memory of its start-up with it (the threads' allocations
 *    fragmented the shared arenas below: +41 % idle RSS after 2,000 fuzzed sessions).
 * 2. glibc malloc kept the rest: frames of tens of MB are relayed through the main thread,
 *    and glibc's dynamic mmap threshold rises after the first large free, so later frames
 *    come from the heap and stay there; every worker thread also gets its own arena.
 *    Idle RSS went 212 → 462 MiB over 9 sessions; with a fixed mmap threshold (frames are
 *    mmap'd, so returned when freed), two arenas and a trim threshold it stayed 144 → 184.
 * 3. V8 frees large ArrayBuffers only when it collects; when the server goes idle it
 *    collects once (gc is exposed for this process only).
 *
 * glibc reads its tuning from the environment at start-up only, so `ppnn serve` re-executes
 * itself once (same PID, process.execve) with the variables set, unless they already are.
 */
const ALLOCATOR_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(128 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024),
};

/**
 * On Linux with process.execve (Node ≥ 22.15), replace this process with itself under the
 * allocator tuning above and --expose-gc. Returns (does nothing) when already tuned, when
 * PPNN_NO_REEXEC is set, or elsewhere. Never returns when it re-executes.
 */
export function reexecWithAllocatorTuning(): void {
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return;
  if (process.env.PPNN_NO_REEXEC || process.env.MALLOC_ARENA_MAX !== undefined) return;
  const execArgv = process.execArgv.includes('--expose-gc') ? process.execArgv : [...process.execArgv, '--expose-gc'];
  process.execve(process.execPath, [process.execPath, ...execArgv, ...process.argv.slice(1)], {
    ...process.env,
    ...ALLOCATOR_ENV,
  });
}

/** Collect garbage now if this process exposes gc (see reexecWithAllocatorTuning); true when it ran. */
export function collectIfExposed(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}
