/**
 * Synthetic references for the drift set, drawn as SVG from a seed: a garment (a jacket with its
 * cut, collar, pockets, buttons and pattern), an accessory (a watch, a bag, sunglasses or a hat) and
 * a model (a standing figure in a plain tee whose face has its own skin tone, hair, eyes, brows,
 * nose and mouth). Each is a transparent sprite, so a reference puts it on a plain backdrop and an
 * output composites it into a scene. Drawn, not photographed: see docs/benchmarks.md for what that
 * means for the checks' figures.
 */
import { labToRgb } from "../colour.ts";
import { mulberry32 } from "../prng.ts";

const hex = ([r, g, b]: [number, number, number]) => `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** A colour from CIELAB ranges, as hex. */
function labColour(rand: () => number, L: [number, number], C: [number, number]): [number, number, number] {
  const l = L[0] + rand() * (L[1] - L[0]);
  const c = C[0] + rand() * (C[1] - C[0]);
  const h = rand() * Math.PI * 2;
  return labToRgb(l, c * Math.cos(h), c * Math.sin(h));
}

const shade = ([r, g, b]: [number, number, number], k: number): [number, number, number] => [
  Math.max(0, Math.min(255, Math.round(r * k))),
  Math.max(0, Math.min(255, Math.round(g * k))),
  Math.max(0, Math.min(255, Math.round(b * k))),
];

export const GARMENT_SIZE = { width: 600, height: 640 } as const;

/** A jacket: body, sleeves, a collar in a second colour, pockets, buttons, and a pattern. */
export function garmentSvg(seed: number): string {
  const rand = mulberry32(seed * 7919 + 11);
  const { width: W, height: H } = GARMENT_SIZE;
  const base = labColour(rand, [22, 72], [8, 55]);
  const trim = labColour(rand, [15, 90], [0, 40]);
  const shoulder = 150 + rand() * 40;
  const hem = 120 + rand() * 60;
  const len = 470 + rand() * 100;
  const sleeveLen = 380 + rand() * 120;
  const sleeveAngle = 0.12 + rand() * 0.25;
  const top = 60;
  const cx = W / 2;
  const body = `M${cx - shoulder},${top + 30} L${cx - 45},${top} L${cx + 45},${top} L${cx + shoulder},${top + 30} L${cx + hem},${top + len} L${cx - hem},${top + len} Z`;
  // Sleeves hang along the body (their inner edge on its side line), so no backdrop is enclosed
  // between sleeve and body: what is inside the garment's outline is the garment.
  const sideX = (side: -1 | 1, y: number) => cx + side * (shoulder + ((hem - shoulder) * (y - top - 30)) / (len - 30));
  const sleeve = (side: -1 | 1) => {
    const ey = top + 30 + Math.min(sleeveLen, len - 40);
    const w = 48 + rand() * 20 + sleeveAngle * 60;
    const points = [
      [sideX(side, top + 30), top + 30],
      [sideX(side, top + 30) + side * w * 0.6, top + 44],
      [sideX(side, ey) + side * w, ey],
      [sideX(side, ey), ey],
    ];
    return `M${points.map(([x, y]) => `${x},${y}`).join(" L")} Z`;
  };
  const sleeves = [sleeve(-1), sleeve(1)];
  let pattern = "";
  const kind = pick(rand, ["plain", "stripes", "check", "seams"] as const);
  const line = hex(shade(base, 0.72 + rand() * 0.5));
  if (kind === "stripes")
    for (let x = cx - hem; x < cx + hem; x += 18 + rand() * 10) pattern += `<rect x="${x}" y="${top}" width="5" height="${len}" fill="${line}"/>`;
  if (kind === "check") {
    const step = 26 + rand() * 20;
    for (let x = cx - shoulder; x < cx + shoulder; x += step) pattern += `<rect x="${x}" y="${top}" width="4" height="${len}" fill="${line}"/>`;
    for (let y = top; y < top + len; y += step) pattern += `<rect x="${cx - shoulder}" y="${y}" width="${shoulder * 2}" height="4" fill="${line}"/>`;
  }
  if (kind === "seams")
    for (const dx of [-0.55, 0.55])
      pattern += `<path d="M${cx + dx * shoulder},${top + 40} L${cx + dx * hem},${top + len}" stroke="${line}" stroke-width="4"/>`;
  const collarW = 60 + rand() * 40;
  const collar = `<path d="M${cx - collarW - 30},${top + 8} L${cx},${top + 150 + rand() * 60} L${cx + collarW + 30},${top + 8} L${cx + 40},${top - 8} L${cx},${top + 60} L${cx - 40},${top - 8} Z" fill="${hex(trim)}"/>`;
  const pocket = (side: -1 | 1) => {
    const px = cx + side * (shoulder * 0.45) - 45;
    const py = top + len * (0.55 + rand() * 0.15);
    return `<rect x="${px}" y="${py}" width="90" height="${60 + rand() * 40}" rx="6" fill="${hex(shade(base, 0.8))}" stroke="${hex(trim)}" stroke-width="4"/>`;
  };
  let buttons = "";
  const nb = 3 + Math.floor(rand() * 4);
  for (let i = 0; i < nb; i++)
    buttons += `<circle cx="${cx}" cy="${top + 200 + i * ((len - 240) / nb)}" r="${9 + rand() * 5}" fill="${hex(shade(trim, 0.6))}"/>`;
  // Cloth is not flat: light falling from one side, and folds, as a photographed garment shows them.
  const lightX = rand() < 0.5 ? 0 : 1;
  let folds = "";
  for (let i = 0; i < 3 + Math.floor(rand() * 4); i++) {
    const x = cx + (rand() - 0.5) * hem * 1.6;
    const y = top + 120 + rand() * (len - 200);
    folds += `<path d="M${x},${y} q${(rand() - 0.5) * 60},${60 + rand() * 60} ${(rand() - 0.5) * 40},${120 + rand() * 80}" stroke="#000" stroke-opacity="${0.12 + rand() * 0.15}" stroke-width="${6 + rand() * 10}" fill="none" stroke-linecap="round"/>`;
  }
  const light = `<linearGradient id="l" x1="${lightX}" y1="0" x2="${1 - lightX}" y2="1"><stop offset="0" stop-color="#fff" stop-opacity="0.22"/><stop offset="0.55" stop-color="#fff" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.3"/></linearGradient>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><defs><clipPath id="b"><path d="${body}"/></clipPath>${light}</defs>` +
    sleeves.map((d) => `<path d="${d}" fill="${hex(shade(base, 0.92))}"/>`).join("") +
    `<path d="${body}" fill="${hex(base)}"/><g clip-path="url(#b)">${pattern}<rect x="${cx - 3}" y="${top}" width="6" height="${len}" fill="${hex(shade(base, 0.6))}"/>${folds}</g>` +
    collar +
    pocket(-1) +
    pocket(1) +
    buttons +
    // The light over the whole garment (sleeves and body), over everything drawn on it.
    sleeves.map((d) => `<path d="${d}" fill="url(#l)"/>`).join("") +
    `<path d="${body}" fill="url(#l)"/>` +
    `</svg>`
  );
}

export const ACCESSORY_SIZE = { width: 400, height: 400 } as const;
export const ACCESSORY_KINDS = ["watch", "bag", "sunglasses", "hat"] as const;

/** An accessory with detail a person would recognise it by (a dial's markers, a bag's clasp). */
export function accessorySvg(seed: number): { svg: string; kind: (typeof ACCESSORY_KINDS)[number] } {
  const rand = mulberry32(seed * 104729 + 3);
  const kind = pick(rand, ACCESSORY_KINDS);
  const c1 = labColour(rand, [15, 70], [5, 50]);
  const c2 = labColour(rand, [40, 95], [0, 30]);
  const metal = pick(rand, [
    [196, 170, 90],
    [190, 192, 196],
    [60, 60, 64],
  ] as const) as unknown as [number, number, number];
  let body = "";
  if (kind === "watch") {
    body += `<rect x="165" y="10" width="70" height="380" rx="14" fill="${hex(c1)}"/>`;
    body += `<circle cx="200" cy="200" r="${95 + rand() * 20}" fill="${hex(metal)}"/><circle cx="200" cy="200" r="82" fill="${hex(c2)}"/>`;
    for (let i = 0; i < 12; i++) {
      const a = (i / 12) * Math.PI * 2;
      body += `<rect x="${200 + Math.cos(a) * 68 - 4}" y="${200 + Math.sin(a) * 68 - 4}" width="8" height="${i % 3 ? 8 : 16}" fill="${hex(shade(c2, 0.3))}"/>`;
    }
    body += `<path d="M200,200 L${200 + 50 * Math.cos(rand() * 6.28)},${200 + 50 * Math.sin(rand() * 6.28)}" stroke="#111" stroke-width="6"/>`;
    body += `<path d="M200,200 L${200 + 70 * Math.cos(rand() * 6.28)},${200 + 70 * Math.sin(rand() * 6.28)}" stroke="#111" stroke-width="3"/>`;
  } else if (kind === "bag") {
    body += `<path d="M120,140 Q200,${20 + rand() * 40} 280,140" stroke="${hex(shade(c1, 0.7))}" stroke-width="18" fill="none"/>`;
    body += `<path d="M70,140 L330,140 L${350 + rand() * 20},370 L${50 - rand() * 20},370 Z" fill="${hex(c1)}"/>`;
    body += `<rect x="70" y="140" width="260" height="60" fill="${hex(shade(c1, 0.8))}"/>`;
    body += `<rect x="180" y="185" width="40" height="34" rx="5" fill="${hex(metal)}"/>`;
    body += `<path d="M80,360 L320,360" stroke="${hex(c2)}" stroke-width="4" stroke-dasharray="10 6"/>`;
  } else if (kind === "sunglasses") {
    const r = 62 + rand() * 16;
    body += `<rect x="40" y="170" width="320" height="14" fill="${hex(metal)}"/>`;
    body += `<ellipse cx="${200 - r - 14}" cy="210" rx="${r}" ry="${r * 0.8}" fill="${hex(shade(c1, 0.4))}" stroke="${hex(metal)}" stroke-width="10"/>`;
    body += `<ellipse cx="${200 + r + 14}" cy="210" rx="${r}" ry="${r * 0.8}" fill="${hex(shade(c1, 0.4))}" stroke="${hex(metal)}" stroke-width="10"/>`;
    body += `<ellipse cx="${200 - r - 30}" cy="190" rx="${r * 0.3}" ry="${r * 0.15}" fill="#fff" fill-opacity="0.5"/>`;
  } else {
    body += `<ellipse cx="200" cy="290" rx="${170 + rand() * 20}" ry="45" fill="${hex(c1)}"/>`;
    body += `<path d="M110,290 Q120,${90 + rand() * 40} 200,95 Q280,${90 + rand() * 40} 290,290 Z" fill="${hex(shade(c1, 0.85))}"/>`;
    body += `<rect x="110" y="245" width="180" height="30" fill="${hex(c2)}"/>`;
  }
  return { svg: `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">${body}</svg>`, kind };
}

export const FIGURE_SIZE = { width: 600, height: 900 } as const;
/** Where the figure's torso, right hand and head are, in figure pixels (for compositing). */
export const FIGURE_TORSO = { x: 300, y: 330, width: 250 } as const;
export const FIGURE_HAND = { x: 455, y: 560 } as const;
export const FIGURE_HEAD = { x: 300, y: 150 } as const;

const SKIN: [number, number, number][] = [
  [255, 219, 172],
  [241, 194, 150],
  [224, 172, 125],
  [198, 134, 90],
  [176, 112, 70],
  [141, 85, 50],
  [110, 66, 40],
  [92, 56, 34],
];
const HAIR: [number, number, number][] = [
  [20, 16, 14],
  [60, 38, 24],
  [110, 72, 40],
  [200, 160, 90],
  [150, 60, 30],
  [150, 150, 150],
];

/** A face (head, ears, hair, eyes, brows, nose, mouth) from its own seed. */
export function faceSvg(seed: number): string {
  const rand = mulberry32(seed * 15485863 + 5);
  const skin = pick(rand, SKIN).map((v) => Math.max(0, Math.min(255, Math.round(v + (rand() - 0.5) * 16)))) as [number, number, number];
  const hair = pick(rand, HAIR);
  const { x: cx, y: cy } = FIGURE_HEAD;
  const rx = 56 + rand() * 14;
  const ry = 74 + rand() * 12;
  const style = pick(rand, ["short", "long", "bun", "bald"] as const);
  const eyeY = cy - 8 + rand() * 16;
  const eyeDx = 20 + rand() * 10;
  const iris = pick(rand, ["#3b2a1a", "#2f5f8a", "#4d7a3a", "#6b4a2a", "#222"]);
  const browTilt = (rand() - 0.5) * 10;
  const mouthY = cy + 38 + rand() * 14;
  const mouthW = 18 + rand() * 14;
  const lips = hex(shade(skin, 0.7 + rand() * 0.15));
  let back = "";
  let front = "";
  if (style === "long")
    back = `<path d="M${cx - rx - 16},${cy - 20} Q${cx},${cy - ry - 50} ${cx + rx + 16},${cy - 20} L${cx + rx + 26},${cy + ry + 70} L${cx - rx - 26},${cy + ry + 70} Z" fill="${hex(hair)}"/>`;
  if (style === "bun") back = `<circle cx="${cx}" cy="${cy - ry - 18}" r="${30 + rand() * 10}" fill="${hex(hair)}"/>`;
  if (style !== "bald")
    front = `<path d="M${cx - rx - 4},${cy - 10} Q${cx - rx},${cy - ry - 22} ${cx},${cy - ry - 16} Q${cx + rx},${cy - ry - 22} ${cx + rx + 4},${cy - 10} Q${cx + rx * (0.3 + rand() * 0.4)},${cy - ry * (0.5 + rand() * 0.3)} ${cx - rx * 0.2},${cy - ry * 0.55} Z" fill="${hex(hair)}"/>`;
  const eye = (side: -1 | 1) =>
    `<ellipse cx="${cx + side * eyeDx}" cy="${eyeY}" rx="11" ry="7" fill="#f4f1ec"/><circle cx="${cx + side * eyeDx}" cy="${eyeY}" r="5.5" fill="${iris}"/><circle cx="${cx + side * eyeDx}" cy="${eyeY}" r="2.5" fill="#000"/>` +
    `<path d="M${cx + side * (eyeDx - 13)},${eyeY - 15 + side * browTilt * 0.3} L${cx + side * (eyeDx + 13)},${eyeY - 17 - side * browTilt * 0.3}" stroke="${hex(shade(hair, 0.8))}" stroke-width="${4 + rand() * 3}" stroke-linecap="round"/>`;
  return (
    back +
    `<ellipse cx="${cx - rx}" cy="${cy + 4}" rx="9" ry="16" fill="${hex(shade(skin, 0.92))}"/><ellipse cx="${cx + rx}" cy="${cy + 4}" rx="9" ry="16" fill="${hex(shade(skin, 0.92))}"/>` +
    `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="${hex(skin)}"/>` +
    eye(-1) +
    eye(1) +
    `<path d="M${cx - 3},${eyeY + 8} L${cx - 9 - rand() * 5},${cy + 26} L${cx + 6},${cy + 28}" stroke="${hex(shade(skin, 0.75))}" stroke-width="3" fill="none"/>` +
    `<ellipse cx="${cx}" cy="${mouthY}" rx="${mouthW}" ry="${5 + rand() * 4}" fill="${lips}"/><path d="M${cx - mouthW},${mouthY} L${cx + mouthW},${mouthY}" stroke="${hex(shade(skin, 0.45))}" stroke-width="2"/>` +
    front
  );
}

/** The model: a standing figure in a plain tee and trousers, with the face of `faceSeed`. */
export function figureSvg(bodySeed: number, faceSeed: number): string {
  const rand = mulberry32(bodySeed * 32452843 + 7);
  const { width: W, height: H } = FIGURE_SIZE;
  // The face's own skin for arms and neck: drawn from the same seed as the face's.
  const skin = pick(mulberry32(faceSeed * 15485863 + 5), SKIN);
  const tee = pick(rand, [
    [236, 236, 232],
    [128, 130, 134],
    [32, 32, 36],
    [70, 84, 110],
  ] as const) as unknown as [number, number, number];
  const trousers = labColour(rand, [12, 45], [0, 20]);
  const cx = W / 2;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">` +
    `<rect x="${cx - 22}" y="210" width="44" height="50" fill="${hex(shade(skin, 0.9))}"/>` +
    `<path d="M${cx - 150},${290} L${cx - 190},${560} L${cx - 160},${566} L${cx - 120},${330} Z" fill="${hex(skin)}"/>` +
    `<path d="M${cx + 150},${290} L${cx + 160},${560} L${cx + 190},${556} L${cx + 185},${300} Z" fill="${hex(skin)}"/>` +
    `<circle cx="${cx - 178}" cy="575" r="20" fill="${hex(skin)}"/><circle cx="${cx + 175}" cy="570" r="20" fill="${hex(skin)}"/>` +
    `<path d="M${cx - 150},${255} L${cx + 150},${255} L${cx + 130},${560} L${cx - 130},${560} Z" fill="${hex(tee)}"/>` +
    `<path d="M${cx - 125},${555} L${cx + 125},${555} L${cx + 110},${860} L${cx + 20},${860} L${cx},${640} L${cx - 20},${860} L${cx - 110},${860} Z" fill="${hex(trousers)}"/>` +
    `<rect x="${cx - 115}" y="850" width="95" height="30" rx="10" fill="#222"/><rect x="${cx + 20}" y="850" width="95" height="30" rx="10" fill="#222"/>` +
    faceSvg(faceSeed) +
    `</svg>`
  );
}
