// docs/testing.md's first example, as it is written there.
import { expect, test } from 'vitest';
import { HttpError, ManualClock, retryWithBackoff } from 'closed-loop';

test('retries a 503 after the backoff', async () => {
  const clock = new ManualClock();
  let calls = 0;
  const result = retryWithBackoff(
    async () => {
      if (++calls === 1) throw new HttpError(503);
      return 'ok';
    },
    { clock, jitter: 'none', initialDelayMs: 1_000, timeoutMs: 0 },
  );
  await clock.advance(999);
  expect(calls).toBe(1); // still waiting
  await clock.advance(1);
  expect(await result).toBe('ok');
  expect(calls).toBe(2);
});
