/** Tiny synthetic images and profiles for the grid stages' unit tests. */
import type { RgbImage } from "../../../../container/grid/types.ts";

export type Paint = (x: number, y: number) => readonly [number, number, number];

/** A width × height image painted pixel by pixel. */
export function image(width: number, height: number, paint: Paint): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(paint(x, y), (y * width + x) * 3);
  return { data, width, height };
}

/** A profile from [level, lines] pieces, in order. */
export function profile(...pieces: Array<[number, number]>): Float64Array {
  return Float64Array.from(pieces.flatMap(([level, lines]) => Array.from({ length: lines }, () => level)));
}

/**
 * A small grid image: `cols` × `rows` cells of `cell` colour (or painted by `content`), `gutter` px
 * gutters and `margin` px margins of `gutterColour`. Returns the image and each cell's rectangle.
 */
export function gridImage(opts: {
  cols: number;
  rows: number;
  cellW: number;
  cellH: number;
  gutter: number;
  margin: number;
  gutterColour: readonly [number, number, number];
  content: (cx: number, cy: number, x: number, y: number) => readonly [number, number, number];
}) {
  const { cols, rows, cellW, cellH, gutter, margin } = opts;
  const width = 2 * margin + cols * cellW + (cols - 1) * gutter;
  const height = 2 * margin + rows * cellH + (rows - 1) * gutter;
  const cells: Array<{ x: number; y: number; width: number; height: number }> = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) cells.push({ x: margin + c * (cellW + gutter), y: margin + r * (cellH + gutter), width: cellW, height: cellH });
  const img = image(width, height, (x, y) => {
    const k = cells.findIndex((c) => x >= c.x && x < c.x + c.width && y >= c.y && y < c.y + c.height);
    return k < 0 ? opts.gutterColour : opts.content(k % cols, Math.floor(k / cols), x - cells[k]!.x, y - cells[k]!.y);
  });
  return { img, cells };
}
