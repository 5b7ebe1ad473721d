import { expect, test } from 'vitest';
import { ManualClock, retryWithBackoff } from '../../src/index.js';

test('retries until success on a manual clock', async () => {
  const clock = new ManualClock();
  let calls = 0;
  const p = retryWithBackoff(() => { calls++; if (calls < 3) throw new Error('x'); return 'ok'; }, { clock, jitter: 'none', initialDelayMs: 100 });
  await clock.advance(100);
  await clock.advance(200);
  await expect(p).resolves.toBe('ok');
  expect(calls).toBe(3);
});
