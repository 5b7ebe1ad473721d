/** Collects the unhandled rejections while `fn` runs and for `settleMs` after (a late one counts too). */
export async function withUnhandledRejections(fn: () => Promise<void>, settleMs = 100): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return seen;
}
