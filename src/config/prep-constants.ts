/** Preprocessing constants (docs/ARCHITECTURE.md §3). The single source: native code receives them. */

/** CT windows as [center, width] in Hounsfield units: brain, subdural, bone. */
export const DEFAULT_WINDOWS: ReadonlyArray<readonly [number, number]> = [
  [40, 80],
  [80, 200],
  [600, 2800],
];

/** ImageNet channel means (RGB), used by torchvision's VGG16 weights: `prep.mean`'s default. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet channel standard deviations (RGB): `prep.std`'s default. */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** CLAHE defaults (docs/ARCHITECTURE.md §3): OpenCV's clipLimit and an 8×8 tile grid. */
export const CLAHE_CLIP_LIMIT = 2.0;
export const CLAHE_TILES = 8;
