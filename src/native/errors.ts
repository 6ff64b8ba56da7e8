/**
 * Re-creates a native error here, so its stack points at the caller's code rather than at an
 * anonymous promise settlement; the original stays as `cause`.
 */
export function rethrow(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const Ctor = error instanceof TypeError ? TypeError : error instanceof RangeError ? RangeError : Error;
  return new Ctor(error.message, { cause: error });
}
