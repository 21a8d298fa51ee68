/**
 * The simulated creative director's own rules. The simulator stands for the outside world, so
 * this is not the product's planner (src/domain/plan.ts): it reads only what a request carries (the
 * brief, the catalogue and fixed presets in the user text, the enums of the tool's or output
 * format's JSON schema) and answers with a plan built from its own mood table and its own shot and
 * camera-move wording. A bug in the product's planner or in how the Worker reads Claude's answer
 * can therefore show up against it instead of agreeing with itself.
 */

export interface PlanRequest {
  /** The whole text of the last user message. */
  text: string;
  /** The JSON schema the answer must satisfy (tool input_schema or output_config.format.schema), if any. */
  schema?: unknown;
}

type Field = "pose" | "background" | "style";

/**
 * What the director "knows" when a request carries no catalogue or schema: the option ids the
 * product's API has documented. A request's own options always take precedence.
 */
const KNOWN: Record<Field, string[]> = {
  pose: ["confident-standing", "seated-editorial", "leaning-casual", "editorial-drama", "relaxed-natural", "street-walk", "urban-lean"],
  background: ["studio-grey", "studio-white", "studio-black", "industrial", "warm-daylight", "color-gel", "outdoor-urban"],
  style: ["house", "clean-digital", "soft-film"],
};

/** Mood words per option, each with a weight; the option with the highest total wins. */
const MOODS: Record<Field, Record<string, [RegExp, number][]>> = {
  background: {
    "color-gel": [[/\bcolou?rful\b|\bvibrant\b|\bneon\b|\bgels?\b|\bsaturated\b|\bpop\b/g, 3]],
    "studio-black": [[/\bdark\b|\bmoody\b|\bnoir\b|\bdramatic\b|\bintense\b|\bedgy\b|\blow-key\b|\bblack\b/g, 2]],
    "outdoor-urban": [[/\bstreets?\b|\burban\b|\bcity\b|\bdowntown\b|\bmetropolitan\b|\bsidewalk\b/g, 3]],
    industrial: [[/\bindustrial\b|\bconcrete\b|\braw\b|\bwarehouse\b|\bfactory\b|\bbrutalis[mt]\b/g, 3]],
    "warm-daylight": [[/\bwarm\b|\bgolden\b|\bsunlit\b|\bdaylight\b|\bwindow\b|\bintimate\b|\bsoft\b/g, 2]],
    "studio-white": [[/\bwhite\b|\bclean\b|\bcommercial\b|\be-?commerce\b|\bcatalog(ue)?\b|\bbright\b|\bhigh-key\b/g, 2]],
    "studio-grey": [[/\bgr[ae]y\b|\bminimal\b|\btimeless\b|\bclassic\b|\bcasual\b|\brelaxed\b/g, 1]],
  },
  pose: {
    "editorial-drama": [[/\bdramatic\b|\bedgy\b|\bavant-garde\b|\bangular\b|\bbold\b|\bcolou?rful\b|\bvibrant\b|\bneon\b|\bintense\b/g, 2]],
    "street-walk": [[/\bstreets?\b|\bwalk(ing)?\b|\bstride\b|\bcity\b|\burban\b/g, 2]],
    "urban-lean": [[/\blean(ing)?\b|\battitude\b|\brailing\b/g, 3]],
    "seated-editorial": [[/\bintimate\b|\bwarm\b|\bseated\b|\bsitting\b|\bcontemplative\b|\bsoft\b|\bportrait\b/g, 2]],
    "leaning-casual": [[/\bindustrial\b|\bconcrete\b|\braw\b|\bwall\b|\bapproachable\b/g, 2]],
    "relaxed-natural": [[/\brelaxed\b|\bnatural\b|\bcandid\b|\bcasual\b|\bchill\b|\beasy\b/g, 2]],
    "confident-standing": [[/\bconfident\b|\bpower\b|\bprofessional\b|\bcommercial\b|\bcatalog(ue)?\b|\bclean\b/g, 2]],
  },
  style: {
    "soft-film": [[/\bfilm\b|\b35mm\b|\bpastel\b|\bnostalgic\b|\bvintage\b|\bgrain(y)?\b/g, 2]],
    "clean-digital": [[/\bcrisp\b|\bdigital\b|\bsharp\b|\btrue-to-life\b|\be-?commerce\b/g, 2]],
    house: [],
  },
};

const GARMENTS =
  /\b(jackets?|coats?|trench|dress(es)?|skirts?|trousers|jeans|denim|shirts?|blouses?|knit(wear)?|sweaters?|hoodies?|suits?|blazers?|boots|sneakers|trainers|heels|loafers|bags?|handbags?|hats?|caps?|scarf|scarves|glasses|sunglasses|jewell?ery|necklaces?|earrings?|belts?|gloves|leather|silk|wool|linen|cashmere|streetwear|tailoring)\b/gi;

const SHOTS: [string, string][] = [
  ["Beauty close-up", "Tight beauty frame on the face, lens just off eye level, background melting away in a shallow focus."],
  ["Overhead three-quarter", "From above at three-quarters, the body cut on a diagonal so the garment's shape reads as a graphic form."],
  ["Ground-level full length", "Camera near the floor looking up at the whole figure, legs lengthened, shoes and hem in sharp focus."],
  ["Compressed profile", "Long-lens profile from the side, perspective flattened, silhouette against the set."],
  ["Off-axis portrait", "A close, candid portrait from an unexpected height and offset, the expression caught between poses."],
  ["Material detail", "Macro on one garment or accessory seen from below, behind or the side: weave, stitching, hardware."],
];

const MOVES: [string, string][] = [
  [
    "Crane rise with orbit",
    "From the close-up the camera cranes upward while circling to a three-quarter angle above the model; only the camera moves, the model holds still apart from lifting the eyes.",
  ],
  [
    "Sweeping descent",
    "The camera sweeps down from overhead to the floor in one continuous curve, ending low on the full figure; the model straightens and lengthens.",
  ],
  [
    "Low orbit to profile",
    "Staying low, the camera circles round to the side until the profile lines up against the set; a slight turn of the head, the set itself never moves.",
  ],
  ["Push toward the face", "A slow, steady push from the profile toward the face while the lens compresses the background; the model stays perfectly still."],
  ["Creep into the fabric", "The camera creeps in on the garment until the texture fills the frame; model and fabric stay completely still."],
  ["Pull out to the opening portrait", "Pulling back from the detail, the camera rises and arcs to the opening portrait framing, closing the loop smoothly."],
];

function section(text: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "i").exec(text)?.[1]?.trim();
}

/** The brief is the <brief>…</brief> section when present, else the whole text. */
export function extractBrief(text: string): string {
  return (section(text, "brief") ?? text).trim();
}

/**
 * Presets the request fixes: <fixed_presets>pose=x, background=y</fixed_presets> (the Worker's
 * form), <presets>{json}</presets>, or <pose>/<background>/<style> tags.
 */
export function extractPresets(text: string): Partial<Record<Field, string>> | undefined {
  const out: Partial<Record<Field, string>> = {};
  const fields: Field[] = ["pose", "background", "style"];
  const fixed = section(text, "fixed_presets");
  if (fixed) {
    for (const pair of fixed.split(/[,;\n]/)) {
      const [k, v] = pair.split("=").map((s) => s.trim());
      if (fields.includes(k as Field) && v) out[k as Field] = v;
    }
  }
  const json = section(text, "presets");
  if (json) {
    try {
      const v = JSON.parse(json) as Record<string, unknown>;
      for (const k of fields) if (typeof v[k] === "string") out[k] = v[k] as string;
    } catch {
      // not JSON: ignore, the tags below may still carry them
    }
  }
  for (const k of fields) {
    const m = new RegExp(`<${k}>\\s*([a-z0-9-]+)\\s*</${k}>`, "i").exec(text);
    if (m) out[k] = m[1];
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Option ids offered by the request: the schema's enum, else the catalogue line, else what the director knows. */
function options(field: Field, req: PlanRequest): string[] {
  const prop = (req.schema as { properties?: Record<string, { enum?: unknown[] }> } | undefined)?.properties?.[field];
  const fromSchema = prop?.enum?.filter((v): v is string => typeof v === "string");
  if (fromSchema && fromSchema.length > 0) return fromSchema;
  const label = { pose: "Poses", background: "Backgrounds", style: "Styles" }[field];
  const line = new RegExp(`^\\s*${label}:\\s*(.+)$`, "im").exec(section(req.text, "catalogue") ?? "")?.[1];
  if (line) {
    // "id (description); id (description)" or "id, id, id"
    const ids = line
      .split(field === "style" ? /,\s*/ : /;\s*/)
      .map((s) => s.replace(/\(.*$/, "").trim())
      .filter((s) => /^[a-z0-9-]+$/.test(s));
    if (ids.length > 0) return ids;
  }
  return KNOWN[field];
}

function choose(field: Field, brief: string, offered: string[], fixed: string | undefined): string {
  if (fixed && offered.includes(fixed)) return fixed;
  const text = brief.toLowerCase();
  let best = offered[0]!;
  let bestScore = 0;
  for (const id of offered) {
    let score = 0;
    for (const [re, weight] of MOODS[field][id] ?? []) score += (text.match(re)?.length ?? 0) * weight;
    // The option's own name in the brief counts most ("a studio-black backdrop").
    if (text.includes(id)) score += 5;
    if (score > bestScore) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}

/** The plan the simulated Claude answers with, restricted to the schema's properties when it names any. */
export function directorPlan(req: PlanRequest): Record<string, unknown> {
  const brief = extractBrief(req.text);
  const fixed = extractPresets(req.text) ?? {};
  const feedback = section(req.text, "feedback");
  const background = choose("background", brief, options("background", req), fixed.background);
  const pose = choose("pose", brief, options("pose", req), fixed.pose);
  const style = choose("style", brief, options("style", req), fixed.style);
  const garments = [...new Set((brief.match(GARMENTS) ?? []).map((g) => g.toLowerCase()))];
  const glasses = garments.some((g) => g.includes("glasses"));
  const plan: Record<string, unknown> = {
    pose,
    background,
    style,
    wardrobeNotes: (
      `Reproduce ${garments.length > 0 ? `the ${garments.join(", ")}` : "every piece"} from the reference photos exactly: ` +
      "same cut, colour, fabric, prints, logos and hardware; add and remove nothing."
    ).slice(0, 1000),
    styleDetails: [glasses ? "Hard white flash reflections sit on the eyewear frames." : "", feedback ? `Director's note: ${feedback}` : ""]
      .filter(Boolean)
      .join(" ")
      .slice(0, 500),
    shots: SHOTS.map(([name, description]) => ({ name, description })),
    motions: MOVES.map(([name, prompt]) => ({ name, prompt })),
    planner: "claude",
  };
  const properties = (req.schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (properties && Object.keys(properties).length > 0) {
    for (const key of Object.keys(plan)) if (!(key in properties)) delete plan[key];
  }
  return plan;
}
