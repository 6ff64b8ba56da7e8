/** Where Debian's pydicom keeps its test files (real DICOM from many writers), for DICOM tests. */
import { runPython } from './oracle.js';

let found: string | undefined | null = null;

/** The folder of pydicom's test corpus; `undefined` when pydicom is not installed. */
export function pydicomCorpus(): string | undefined {
  if (found !== null) return found;
  try {
    found = runPython(
      "import os; from pydicom.data import get_testdata_file; print(os.path.dirname(get_testdata_file('CT_small.dcm')))",
    ).trim();
  } catch {
    found = undefined;
  }
  return found;
}
