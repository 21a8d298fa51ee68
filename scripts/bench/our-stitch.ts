/** (a) for bench:stitch (and bench:pack (c)): our stitch (container/stitch.ts), in its own process so its memory is measured alone. */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stitchClips } from "../../container/stitch.ts";
import { EasingSpecSchema, StitchJobParamsSchema } from "../../src/domain/stitch.ts";

const [out, ...clips] = process.argv.slice(2);
const dir = mkdtempSync(path.join(tmpdir(), "our-stitch-"));
const result = await stitchClips(
  clips.map((p, i) => ({ name: `clip-${i + 1}`, path: p })),
  dir,
  {
    easing: EasingSpecSchema.parse(process.env.EASING ?? "dramaticSwoop"),
    clipSeconds: Number(process.env.CLIP_SECONDS ?? 1.5),
    fps: Number(process.env.FPS ?? 60),
    crf: Number(process.env.CRF ?? 18),
    // bench:pack (c) stitches at other presets; bench:stitch passes slow.
    preset: StitchJobParamsSchema.shape.preset.parse(process.env.PRESET ?? "slow"),
  },
);
copyFileSync(result.reel.path, out);
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ frames: result.reel.frames }));
