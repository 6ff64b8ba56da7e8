/** Comparing numeric arrays in tests. */
import assert from 'node:assert/strict';

/** ‖a − b‖ / ‖b‖ over two equally long arrays; fails on a non-finite element of `a`. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    assert.ok(Number.isFinite(a[i]), `element ${i} is ${a[i]}`);
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}
