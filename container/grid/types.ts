/** The shapes every stage of grid detection passes along. */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface GridDetection {
  boxes: Box[];
  confidence: number;
  /** Why confidence is what it is, phrased for a reviewer; set when something is weak. */
  problem?: string;
  gutterColor: [number, number, number];
}

export type Rgb = readonly number[];
