/**
 * Config keys that moved, still accepted: each is moved to its new place before validation, with
 * one DeprecationWarning per key and process.
 *
 * - `model.input_size` → `prep.input_size`: only preprocessing uses the input size (it resamples
 *   every slice to it); the model adapts to any size. Also inside `stages[i]`.
 */
const warned = new Set<string>();

function deprecate(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { type: 'DeprecationWarning', code });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `model.input_size` of one config section (a session, an experiment, a stage) moved to `prep`. */
function moveInputSize(section: Record<string, unknown>, where: string): Record<string, unknown> {
  const model = section.model;
  if (!isObject(model) || !('input_size' in model)) return section;
  const { input_size: inputSize, ...rest } = model;
  const prep = isObject(section.prep) ? section.prep : {};
  deprecate('ICHNET_INPUT_SIZE', `ichnet: ${where}model.input_size is deprecated, use ${where}prep.input_size (read from the old key this time${'input_size' in prep ? '; the prep key, also given, wins' : ''})`);
  return { ...section, model: rest, prep: 'input_size' in prep ? prep : { ...prep, input_size: inputSize } };
}

/** A session config (as written) with moved keys in their new places. */
export function migrateSessionConfig(raw: unknown): unknown {
  return isObject(raw) ? moveInputSize(raw, '') : raw;
}

/** An experiment config (as written), its stages included, with moved keys in their new places. */
export function migrateExperimentConfig(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const top = moveInputSize(raw, '');
  if (!Array.isArray(top.stages)) return top;
  return { ...top, stages: top.stages.map((stage: unknown, i) => (isObject(stage) ? moveInputSize(stage, `stages.${i}.`) : stage)) };
}
