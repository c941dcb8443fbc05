/**
 * What a call threw, for tests that check the coded error of bad input: the PpnnError code
 * (or any `code` field), else the error's name (RangeError, TypeError…); undefined when it
 * did not throw, so a missing check fails the expectation instead of passing silently.
 */
function codeOf(e: unknown): string {
  return (e as { code?: string }).code ?? (e as Error).name;
}

export function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return codeOf(e);
  }
  return undefined;
}

/** thrownCode for a call that may return a promise: its rejection counts as the throw. */
export async function rejectedCode(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return codeOf(e);
  }
  return undefined;
}
