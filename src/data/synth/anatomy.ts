/**
 * A patient's sampled anatomy: head size and pose, outline, scalp and skull thickness, atrophy,
 * CSF spaces, ventricles, tissue densities, the course of every sulcus, and the noise level.
 * {@link headScale} gives the head's size along the series.
 */
import type { Rng } from '../rng.js';
import { TWO_PI } from './geometry.js';

/** One cortical sulcus or Sylvian fissure, followed from slice to slice. */
export interface Sulcus {
  /** Angle (elliptic parameter) at slice t: base + amp·sin(freq·t + phase). */
  base: number;
  amp: number;
  freq: number;
  phase: number;
  depth: number;
  width: number;
  /** Lateral drift (px per px of depth) and bend (px at full depth). */
  slant: number;
  bend: number;
  /** A sinuous course: amplitude (px), spatial frequency (rad per px of depth), phase. */
  wiggle: number;
  wiggleFreq: number;
  wigglePhase: number;
  /** Sylvian fissure: 0 for cortical sulci, ±1 for the right/left fissure. */
  sylvian: number;
}

/** Everything about a patient's head that stays fixed along its series. */
export interface Anatomy {
  size: number;
  k: number;
  A0: number;
  B0: number;
  cx: number;
  cy: number;
  cxDrift: number;
  cyDrift: number;
  rot: number;
  rotDrift: number;
  outline: [number, number, number, number];
  /** Egg shape: the head a little wider posterolaterally than anterolaterally. */
  egg: number;
  scalp: number;
  skull: number;
  skullMod: [number, number, number, number];
  atrophy: number;
  rim: number;
  rimMod: [number, number];
  cortex: number;
  ventSize: number;
  ventCenter: number;
  hu: { wm: number; gm: number; deep: number; csf: number; scalp: number; table: number; diploe: number; falx: number; calc: number };
  falxVisible: boolean;
  choroidCalc: boolean;
  pinealCalc: boolean;
  sulci: Sulcus[];
  cupping: number;
  sigma: number;
  textureGrid: Float32Array;
  textureN: number;
  textureZ: number;
}

/** Samples a patient's anatomy from the anatomy stream (`sigmaRange`: noise standard deviation range, HU). */
export function sampleAnatomy(rng: Rng, size: number, sigmaRange: readonly [number, number]): Anatomy {
  const k = size / 128;
  const A0 = rng.range(0.32, 0.37) * size;
  const B0 = Math.min(0.44 * size, A0 * rng.range(1.12, 1.22));
  const atrophy = rng.float() ** 1.5;
  const wm = rng.range(25, 29);
  const sulci: Sulcus[] = [];
  const K = rng.int(30, 40);
  for (let i = 0; i < K; i++) {
    sulci.push({
      base: -Math.PI + ((i + rng.range(-0.25, 0.25)) / K) * TWO_PI,
      amp: (rng.range(0, 0.35) / K) * TWO_PI,
      freq: rng.range(2, 6),
      phase: rng.range(0, TWO_PI),
      depth: rng.range(2.5, 8) * k * (0.8 + 0.5 * atrophy),
      width: rng.range(0.9, 1.5) * k * (1 + 0.8 * atrophy),
      slant: rng.range(-0.3, 0.3),
      bend: rng.range(-2.5, 2.5) * k,
      wiggle: rng.range(0.3, 1.3) * k,
      wiggleFreq: rng.range(0.5, 1.2) / k,
      wigglePhase: rng.range(0, TWO_PI),
      sylvian: 0,
    });
  }
  for (const side of [1, -1]) {
    sulci.push({
      base: side > 0 ? -rng.range(0.25, 0.45) : -Math.PI + rng.range(0.25, 0.45),
      amp: 0.03,
      freq: rng.range(2, 4),
      phase: rng.range(0, TWO_PI),
      depth: rng.range(0.26, 0.34) * A0,
      width: rng.range(1.5, 2.3) * k * (1 + 0.5 * atrophy),
      slant: side * rng.range(0.15, 0.35),
      bend: rng.range(-2, 2) * k,
      wiggle: rng.range(0.3, 1.0) * k,
      wiggleFreq: rng.range(0.3, 0.6) / k,
      wigglePhase: rng.range(0, TWO_PI),
      sylvian: side,
    });
  }
  const textureN = 10;
  const textureZ = 8;
  const textureGrid = new Float32Array(textureN * textureN * textureZ);
  for (let i = 0; i < textureGrid.length; i++) textureGrid[i] = rng.range(-1, 1);
  const sigma = rng.range(sigmaRange[0], sigmaRange[1]);
  return {
    size,
    k,
    A0,
    B0,
    cx: size / 2 + rng.range(-0.03, 0.03) * size,
    cy: size / 2 + rng.range(-0.03, 0.03) * size,
    cxDrift: rng.range(-0.02, 0.02) * size,
    cyDrift: rng.range(-0.02, 0.02) * size,
    rot: (rng.range(-10, 10) * Math.PI) / 180,
    rotDrift: (rng.range(-3, 3) * Math.PI) / 180,
    outline: [rng.range(0, 0.025), rng.range(0, TWO_PI), rng.range(0, 0.018), rng.range(0, TWO_PI)],
    egg: rng.range(0.02, 0.07),
    scalp: rng.range(1.8, 3.2) * k,
    skull: rng.range(2.6, 3.8) * k,
    skullMod: [rng.range(0.1, 0.3), rng.range(0, TWO_PI), rng.range(0, 0.12), rng.range(0, TWO_PI)],
    atrophy,
    rim: (0.35 + 1.1 * atrophy) * k,
    rimMod: [rng.range(0.2, 0.6), rng.range(0, TWO_PI)],
    cortex: rng.range(2.2, 3.2) * k,
    ventSize: 0.8 + 0.55 * atrophy + rng.range(-0.1, 0.15),
    ventCenter: rng.range(0.5, 0.57),
    hu: {
      wm,
      gm: wm + rng.range(6, 9),
      deep: wm + rng.range(4, 7),
      csf: rng.range(3, 10),
      scalp: rng.range(10, 35),
      table: rng.range(1250, 1600),
      diploe: rng.range(550, 900),
      falx: rng.range(45, 70),
      calc: rng.range(150, 350),
    },
    falxVisible: rng.chance(0.6),
    choroidCalc: rng.chance(0.4),
    pinealCalc: rng.chance(0.5),
    sulci,
    cupping: rng.range(0, 4),
    sigma,
    textureGrid,
    textureN,
    textureZ,
  };
}

/** Head scale at level t (0 = skull base, 1 = vertex): largest a little below the middle. */
export function headScale(t: number): number {
  const tc = 0.45;
  if (t <= tc) return Math.sqrt(Math.max(0.1, 1 - ((tc - t) / 0.72) ** 2));
  return Math.sqrt(Math.max(0.2, 1 - ((Math.min(t, 1.02) - tc) / 0.66) ** 2));
}
