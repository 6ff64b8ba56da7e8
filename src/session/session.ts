/** The public, typed face of a native training session. */
import { resolveSessionConfig, type SessionConfig, type SessionConfigInput } from '../config/session-schema.js';
import { callNative, cpuHasNativeBf16, nativeAddon, type NativeSession } from './binding.js';
import { concretePrecision } from './precision.js';
import type { Batch, GradCamResult, LoadReport, SessionInfo, StepResult } from './types.js';

/**
 * A model, its optimizer and its device (docs/ARCHITECTURE.md §4–§5), living in the native addon.
 * Every method returns a promise and runs its work on a worker thread: the event loop stays free.
 * Calls on one session run one at a time, in order.
 *
 * @example
 * import { Session } from 'ichnet';
 *
 * const session = await Session.create({ model: { width: 1 / 16, label_hidden: 8, slice_hidden: 8 }, prep: { input_size: 32 }, device: 'cpu' });
 * const [patients, slices] = [2, 3];
 * const images = new Int16Array(patients * slices * 32 * 32).fill(40); // Hounsfield units, one channel
 * const labels = new Uint8Array(patients * slices * 5); // 0/1 per slice and label
 * const { loss } = await session.trainStep({ images, shape: [patients, slices, 1, 32, 32], lengths: Int32Array.from([3, 2]), labels });
 * console.log(loss);
 * await session.close();
 */
export class Session {
  private constructor(
    private readonly native: NativeSession,
    /** The complete configuration this session was built from (defaults filled in). */
    readonly config: SessionConfig,
  ) {}

  /**
   * Validates the config (throws an IchnetError CONFIG_INVALID naming each bad key), then builds the model on the
   * requested device off the JS thread. Rejects when the device is unavailable.
   */
  static async create(config: SessionConfigInput = {}): Promise<Session> {
    const resolved = resolveSessionConfig(config);
    if (resolved.precision === 'auto') {
      resolved.precision = concretePrecision('auto', resolved.device, nativeAddon().runtimeInfo().cudaAvailable, cpuHasNativeBf16());
    }
    return callNative(async (addon) => new Session(await addon.createSession(resolved), resolved));
  }

  /** One optimizer step on the batch (labels required): forward, loss, backward, update. */
  trainStep(batch: Batch): Promise<StepResult> {
    return callNative(() => this.native.trainStep(batch));
  }

  /** Loss and logits without updating anything (labels required; BatchNorm in evaluation mode). */
  evalStep(batch: Batch): Promise<StepResult> {
    return callNative(() => this.native.evalStep(batch));
  }

  /** Logits and patient probabilities (labels not needed; `loss` is NaN). */
  predict(batch: Batch): Promise<StepResult> {
    return callNative(() => this.native.predict(batch));
  }

  /**
   * Starts preparing `batch`'s model input (the preprocessing of docs/ARCHITECTURE.md §3, with the
   * augmentation of `batch.aug` for `train`; on a GPU also the upload) on the session's staging
   * thread, while earlier calls, a step say, still run. The next `trainStep` (`train`) or
   * `evalStep` / `predict` (`eval`) given this same batch object uses it instead of preprocessing;
   * its results are the same bit for bit. One batch is staged at a time: staging another, or a step
   * on another batch, drops it. Do not modify the batch's arrays until the returned promise
   * settles, which is when staging has finished. It never rejects: when staging fails (a malformed
   * batch included), the step that uses the batch rejects with the error.
   */
  stage(batch: Batch, mode: 'train' | 'eval'): Promise<void> {
    try {
      return this.native.stage(batch, mode).catch(() => undefined);
    } catch {
      return Promise.resolve();
    }
  }

  /**
   * Grad-CAM on the last VGG16 convolution block for each `targets` triple (patient, slice, label),
   * flattened; omitted: every valid slice and label. The gradient of the slice's label logit flows
   * back through the slice and label RNNs to that slice's activations. The model runs in
   * evaluation mode and in fp32, whatever `precision` says; nothing is updated.
   */
  gradCam(batch: Batch, targets?: Int32Array): Promise<GradCamResult> {
    return callNative(() => this.native.gradCam(batch, targets));
  }

  /** Sets the base learning rate (the backbone's is this times `optim.backbone_lr_mult`). */
  setLearningRate(lr: number): Promise<void> {
    return callNative(() => this.native.setLearningRate(lr));
  }

  /**
   * Loads weights by name from a `.safetensors` file or a torch.save `.pth` state dict (zip format).
   * torchvision VGG16 keys (`features.N.*`) land in `backbone.features.N.*`; unknown and missing
   * keys are reported, a shape mismatch rejects and changes nothing.
   */
  loadWeights(path: string): Promise<LoadReport> {
    return callNative(() => this.native.loadWeights(path), 'load');
  }

  /** Saves every parameter and buffer to a `.safetensors` file (PyTorch state-dict names). */
  saveWeights(path: string): Promise<void> {
    return callNative(() => this.native.saveWeights(path));
  }

  /**
   * Saves weights, optimizer state and the given extra text files into `dir`, atomically: the
   * directory is written under a temporary name and renamed into place.
   */
  saveCheckpoint(dir: string, files?: Record<string, string>): Promise<void> {
    return callNative(() => this.native.saveCheckpoint(dir, files));
  }

  /** Restores weights, optimizer state, step count and learning rate from `saveCheckpoint`. */
  loadCheckpoint(dir: string): Promise<void> {
    return callNative(() => this.native.loadCheckpoint(dir), 'load');
  }

  /** LibTorch version, device, CUDA/cuDNN availability, threads, parameter count, step. */
  info(): Promise<SessionInfo> {
    return callNative(() => this.native.info());
  }

  /**
   * Data-parallel sessions only, a collective (every rank calls it at the same point): copies rank
   * 0's parameters and buffers (BatchNorm statistics) to every rank — after loading weights on rank
   * 0 alone, and before evaluating or saving, so that every rank holds rank 0's model.
   */
  syncReplicas(): Promise<void> {
    return callNative(() => this.native.syncReplicas());
  }

  /** Data-parallel sessions only, a collective: every rank's `values`, in rank order. */
  allGather(values: Float32Array): Promise<Float32Array[]> {
    return callNative(() => this.native.allGather(values));
  }

  /**
   * Data-parallel sessions: records why this rank is stopping in the job's rendezvous store, so
   * that the other ranks' errors name this rank and the cause. Never rejects.
   */
  async publishFailure(message: string): Promise<void> {
    await this.native.publishFailure(message).catch(() => undefined);
  }

  /**
   * Frees the model, the optimizer state and the session's thread once the calls already made have
   * finished. Later calls reject with "this session is closed"; closing again does nothing. Without
   * it the memory is freed only when the session is garbage-collected, so close a session you are
   * done with before creating the next one.
   */
  close(): Promise<void> {
    return callNative(() => this.native.close());
  }
}
