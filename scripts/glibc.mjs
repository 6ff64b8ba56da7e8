// The glibc version this process runs on: the one probe, used to record what an addon was built on
// (addon-files.mjs) and to decide whether a prebuilt addon can run here (src/addon/host.ts).

/**
 * The glibc version the process runs on ("2.36"), or null on other C libraries (musl).
 * @returns {string | null}
 */
export function glibcVersion() {
  const report = /** @type {{ header?: { glibcVersionRuntime?: string } }} */ (process.report.getReport());
  return report.header?.glibcVersionRuntime ?? null;
}
