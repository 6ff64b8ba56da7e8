/** Data that crosses the boundary between TypeScript and the native session (docs/ARCHITECTURE.md §2). */

/**
 * One batch of patients. Arrays are read in place by the native step (never copied on the JS
 * side); do not modify them until the step's promise settles.
 */
export interface Batch {
  /**
   * Pixels, patients × slices × channels × rows × cols, slices in anatomical order, padded past each
   * patient's length. `Uint8Array`: 8-bit images (1 gray or 3 RGB channels), scaled to [0, 1];
   * `Int16Array`: Hounsfield units (1 channel), one channel per CT window; both are resized to the
   * model's input size and normalised on the device. `Float32Array`: already preprocessed
   * [B, S, 3, H, W] model input, used as is. The memory may be an `ArrayBuffer` or a
   * `SharedArrayBuffer` (the loader's batches are the latter: its decode workers write into them).
   */
  images: Uint8Array | Int16Array | Float32Array;
  /** [patients, slices, channels, height, width]. */
  shape: readonly [number, number, number, number, number];
  /** Valid slices per patient, each in 1..slices. */
  lengths: Int32Array;
  /** Per-slice 0/1 targets, patients × slices × labels; required for training and evaluation. */
  labels?: Uint8Array;
  /**
   * Per-patient augmentation parameters (patients × `augParamNames.length`, from
   * `sampleAugmentation`), applied by `trainStep` only; evaluation and prediction ignore them.
   */
  aug?: Float32Array;
}

/** The result of a forward pass over a batch. */
export interface StepResult {
  /** The loss over valid slices (NaN for `predict`, which takes no labels). */
  loss: number;
  /** Data-parallel `trainStep` only: the mean over ranks of their losses (what the update follows). */
  globalLoss?: number;
  /** Slice logits, patients × slices × labels; zero past each patient's length. */
  logits: Float32Array;
  /** Per patient and label, the maximum over valid slices of sigmoid(logit): patients × labels. */
  patientProbs: Float32Array;
}

/** Grad-CAM maps of some (patient, slice, label) targets of a batch; see `Session.gradCam`. */
export interface GradCamResult {
  /** Slice logits, patients × slices × labels (fp32), zero past each patient's length. */
  logits: Float32Array;
  /**
   * One map per target, targets × h × w, row-major: ReLU(Σ_k α_k A_k) over the channels k of the
   * last VGG16 convolution block (input size / 16 on a side), α_k the spatial mean of the target
   * logit's gradient with respect to A_k. Not normalised; all zero when nothing raises the logit.
   */
  maps: Float32Array;
  /** [targets, h, w]. */
  mapShape: [number, number, number];
  /** The (patient, slice, label) triple of each map, flattened. */
  targets: Int32Array;
  /**
   * Per patient, the region of its slices that the input (and so every map) covers, as
   * [x0, y0, x1, y1] in slice pixel edges (columns x0 ≤ x < x1, rows y0 ≤ y < y1): the whole slice,
   * or with `prep.crop: head` the box around the head, which may reach past the slice.
   */
  boxes: Int32Array;
}

/** What `loadWeights` matched. */
export interface LoadReport {
  /** Model keys that received a value from the file. */
  loaded: string[];
  /** Model keys the file did not provide (they keep their current values). */
  missing: string[];
  /** File keys the model does not use, e.g. torchvision's `classifier.*`. */
  unexpected: string[];
}

/** A session's runtime facts. */
export interface SessionInfo {
  torchVersion: string;
  /** e.g. `cpu` or `cuda:0`. */
  device: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cudnnAvailable: boolean;
  /** LibTorch intra-op threads used by this session's steps. */
  threads: number;
  /** Number of model parameters. */
  parameters: number;
  precision: 'fp32' | 'bf16' | 'fp16';
  /** Optimizer steps taken (restored by `loadCheckpoint`). */
  step: number;
  /** The base learning rate now in force. */
  learningRate: number;
  /** This process's rank in a data-parallel job (0 otherwise). */
  rank: number;
  /** Processes in the data-parallel job (1 otherwise). */
  worldSize: number;
  /** The c10d backend of the job (`gloo`, `nccl`); absent outside one. */
  backend?: string;
}
