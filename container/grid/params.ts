/**
 * Every tuned number of grid detection, with what it guards. Levels are RMS distances to the gutter
 * colour (0–255); lines are rows or columns of the sheet; fractions are of the value named.
 */

// Confidence ---------------------------------------------------------------------------------------

/** Below this, "detect" mode refuses to guess (the reviewer can choose an equal split). */
export const MIN_CONFIDENCE = 0.5;
/** A run at least this clear counts as a gutter when measuring the sheet's gutter level. */
export const CLEAR_RUN = 0.3;

// Gutter colour (profile.ts) -------------------------------------------------------------------------

/** How many candidate gutter colours are tried while no grid is clear. */
export const GUTTER_CANDIDATES = 3;
/** Lines with spread ≤ flattest × 2 + this are candidates for the gutter colour (noise headroom). */
export const FLAT_SLACK = 2;
/** At most this many candidate lines are clustered (bounds the cost on plain photos). */
export const MAX_FLAT_LINES = 2000;
/** A line further than this (L1, levels) from every seed so far seeds a colour cluster of its own. */
export const COLOUR_RADIUS = 9;
/** Lines with spread ≤ flattest × 2 + this are "about as flat" as the flattest, when scoring a cluster. */
export const FLATTEST_SLACK = 0.5;
/** Clusters scored beyond the best this many are not considered. */
export const MAX_CLUSTERS = 24;
/** A cluster's core: its lines within this factor of its flattest line's spread (plus CORE_SLACK). */
export const CORE_FACTOR = 1.2;
/** Absolute slack on the cluster core's spread, for clean sheets whose flattest spread is ~0. */
export const CORE_SLACK = 0.1;
/** Fewer core lines than this and the colour is taken from all the cluster's lines, flatter weighed more. */
export const MIN_CORE_LINES = 3;
/** Flattest lines of a cluster kept for the noise estimate. */
export const NOISE_LINES = 8;
/** Later candidate colours are at least this far (L1) from every earlier one, not shades of it. */
export const CANDIDATE_COLOUR_GAP = 30;

// Noise (profile.ts) ------------------------------------------------------------------------------

/** Stretch length (px) within which a gutter line's variance is noise, not structure. */
export const NOISE_SEGMENT = 32;
/** A noise-corrected line's wobble, in multiples of its sampling error: edge thresholds grow by it. */
export const WOBBLE_FACTOR = 1.5;

// Runs: a valley's core and its edges (runs.ts) ---------------------------------------------------

/** How far above its minimum a line is still part of a valley's core, by default... */
export const CORE_TOLERANCE = 1.5;
/** ...or this fraction of the floor (a JPEG-raised floor wobbles more), or this many wobbles (noise). */
export const CORE_FLOOR_FRACTION = 0.5;
export const CORE_WOBBLES = 2;
/** Quantile of a core's line-to-line changes taken as its steadiness (its steadiest quarter). */
export const STEADY_QUANTILE = 0.25;
/** A core needs this many line-to-line changes before its steadiness is measured, not its mean flatness. */
export const MIN_STEADY_LINES = 4;
/** Smallest step (levels) that counts as an edge on a flat gutter. */
export const MIN_STEP = 0.6;
/** Extra step demanded of a gutter whose lines wobble (up to this much more). */
export const MIN_STEP_RANGE = 1.9;
/** Flatness (mean line-to-line change) below which a gutter asks only MIN_STEP. */
export const FLATNESS_OFFSET = 0.05;
/** Flatness over which the demanded step grows from MIN_STEP to MIN_STEP + MIN_STEP_RANGE. */
export const FLATNESS_SPAN = 0.4;
/** A faint edge's step: this many robust spreads of the core (MAD scaled to σ by ROBUST_SIGMA)... */
export const FAINT_SPREADS = 6;
/** Median absolute deviation to standard deviation, for normal noise. */
export const ROBUST_SIGMA = 1.48;
/** ...or this much above every core line, whichever is less, and at least FAINT_STEP_MIN. */
export const FAINT_ABOVE_CORE = 0.5;
export const FAINT_STEP_MIN = 0.3;
/** A step must hold for this many lines to be an edge, not a wobble. */
export const STEP_PERSIST = 3;
/** A line's step threshold grows by this fraction of its height above the floor... */
export const STEP_GROWTH = 0.5;
/** ...less this many levels (a line barely above the floor asks no more than MIN_STEP). */
export const STEP_GROWTH_OFFSET = 0.5;
/** A flank's top is passed over dips of up to this many levels. */
export const DIP_TOLERANCE = 0.5;
/** A step softened over two lines: the lines from 2 to this many past it are all above the threshold. */
export const SOFT_STEP_LINES = 4;
/** A walk outward from a core gives up after this many lines (except toward a near sheet edge). */
export const WALK_REACH = 40;
/** A sheet edge within this fraction of the sheet may be a margin: the walk goes all the way to it. */
export const MARGIN_FRACTION = 0.08;
/** The steepest rise within this many lines past a step is where the content begins. */
export const RISE_WINDOW = 4;
/** JPEG's 16 px blocks (8 px luma DCT, 16 px with 4:2:0 chroma): ringing from a strong edge fills one. */
export const JPEG_BLOCK = 16;
/** JPEG's 8 px luma blocks: a faint step beginning on their boundary is coded as the block's mean. */
export const JPEG_LUMA_BLOCK = 8;
/** A rise this many times the first step's, in its JPEG block, is the real edge (the first was ringing)... */
export const BLOCK_RISE_RATIO = 3;
/** ...and at least this many levels. */
export const BLOCK_RISE_MIN = 12;
/** Rises in a block are measured over up to this many lines (JPEG softens a strong edge over several). */
export const BLOCK_RISE_LINES = 3;
/** Lines between the two rises holding their level within this fraction of the first step: a plateau. */
export const PLATEAU_SPREAD = 0.35;
/** A plateau starts this many lines past the first step (its own softened lines)... */
export const PLATEAU_SKIP = 3;
/** ...and spans more than this many lines to the larger rise. */
export const PLATEAU_MIN_SPAN = 3;
/** An edge further than this from the core is slow (a gradient, not a border). */
export const SLOW_EDGE_LINES = 20;
/** Without a clean step, the level beyond the steepest rise is the median of this many lines. */
export const BEYOND_LINES = 7;
/** A flank (foot to top of a softened step) is searched within this many lines. */
export const FLANK_REACH = 8;
/** Foot and top of a flank: where it is this fraction of the way up, and FLANK_TOP. */
export const FLANK_FOOT = 0.25;
export const FLANK_TOP = 0.75;
/** A rise spread over more lines than this is slow. */
export const SLOW_FLANK = 6;
/** A flank levels off after this many flat lines (a strip of backdrop before a figure's edge). */
export const LEVEL_OFF_LINES = 2;
/** A line is flat when it changes by at most this many levels, or FLAT_FRACTION of the flank so far. */
export const FLAT_CHANGE = 0.5;
export const FLAT_FRACTION = 0.1;
/** A step under this many levels is faint (JPEG's block coding, the white-on-white case). */
export const FAINT_LEVELS = 4;
/** A faint JPEG step is placed this far up its flank; others half way. */
export const FAINT_JPEG_LEVEL = 0.9;
/** Lines past an edge whose median is the content's level (its contrast). */
export const CONTRAST_LINES = 7;
/** A run within this many lines of the sheet edge touches it (a stray border some generators draw). */
export const STRAY_BORDER = 3;

// Runs: clarity (runs.ts) ---------------------------------------------------------------------------

/** A valley whose floor is under this level is uniform (fading to not at UNIFORM_RMIN + UNIFORM_SPAN / 2). */
export const UNIFORM_RMIN = 22;
export const UNIFORM_SPAN = 14;
/** A valley this many times deeper than its floor is a gutter even with a raised floor (JPEG chroma). */
export const DEPTH_MIN = 4;
export const DEPTH_SPAN = 6;
export const DEPTH_BONUS = 0.5;
/** Contrast (levels) above which an edge starts to count, reaching full at + EDGE_CONTRAST_SPAN. */
export const EDGE_CONTRAST_MIN = 1.5;
export const EDGE_CONTRAST_SPAN = 3;
/** Contrast over the gutter's steadiness from which a faint edge counts, full at + STEADY_RATIO_SPAN. */
export const STEADY_RATIO_MIN = 10;
export const STEADY_RATIO_SPAN = 20;
/** Steadiness never below this (a perfectly flat gutter would make any step infinite). */
export const STEADY_FLOOR = 0.05;
/** A faint edge needs at least this contrast, reaching full weight a level above it. */
export const FAINT_CONTRAST_MIN = 0.8;
/** Clarity of a run with a slow edge, relative. */
export const SLOW_PENALTY = 0.6;
/** A measured core: this many steady spreads, between MEASURED_CORE_MIN and CORE_TOLERANCE. */
export const MEASURED_CORE_SPREADS = 4;
export const MEASURED_CORE_MIN = 0.3;
/** A line is in a valley when it is under floor + max(this + wobble, RUN_THRESHOLD_FRACTION × (median − floor)). */
export const RUN_THRESHOLD_MIN = 4;
export const RUN_THRESHOLD_FRACTION = 0.35;

// Margins (runs.ts) -------------------------------------------------------------------------------

/** A margin's floor is within max(this, floor) of the flattest line. */
export const MARGIN_LEVEL_MIN = 2;
/** A margin's mean colour may be this fraction of the content's contrast off the gutter colour. */
export const MARGIN_OFF_COLOUR = 0.1;
/** A margin's floor is never above this level. */
export const MARGIN_RMIN_MAX = 8;
/** At a margin-less edge, up to this many leading lines may be JPEG-smeared border. */
export const BORDER_SKIP_MAX = 6;
/** The content level is the median of lines BORDER_SKIP_MAX..this from the edge. */
export const BORDER_CONTENT_TO = 20;
/** A leading line below this fraction of the content level is smeared border, not content. */
export const BORDER_LEVEL = 0.75;

// One axis (axis.ts) ------------------------------------------------------------------------------

/** A cell is at least this many px along an axis. */
export const MIN_CELL_PX = 8;
/** Inner gutters lie further than this fraction of the pitch from the content area's ends. */
export const GUTTER_ZONE = 0.25;
/** Colour match: a valley this many levels (or 2 × floor, or a fraction of its contrast) above the floor... */
export const COLOUR_MATCH_MIN = 4;
export const COLOUR_MATCH_CONTRAST = 0.15;
/** ...loses its clarity over this many more levels. */
export const COLOUR_MATCH_SPAN = 12;
/** Candidates clearer than this, at most MAX_CANDIDATES of them, are fitted. */
export const MIN_CANDIDATE_CLARITY = 0.02;
export const MAX_CANDIDATES = 16;
/** A gutter is "found near" its expected place within this fraction of the pitch. */
export const MISSING_ZONE = 0.3;
/** Weight of a gutter's squared offset from even spacing (in pitches) against its unclarity. */
export const SPACING_WEIGHT = 12;
/** Cells this much off their mean size are still fully regular; regularity is 0 at + REGULARITY_SPAN. */
export const REGULARITY_SLACK = 0.06;
export const REGULARITY_SPAN = 0.2;
/** A gutter wider than 2 × the narrowest + this has taken in a faint band of its cells. */
export const WIDE_GUTTER_SLACK = 6;
/** A retried axis that still has a wide gutter is kept if it loses at most this much confidence. */
export const RETRY_CONFIDENCE_LOSS = 0.05;
/** A wide gutter is looked at again with this many lines of the edges beyond it. */
export const SPLIT_EDGE_LINES = 4;
/** ...and the gutter found again may reach this many lines outside the old one. */
export const SPLIT_SLACK = 2;

// Each cell's own edges (cells.ts) ----------------------------------------------------------------

/** Pixels shaved off every side that borders a gutter: JPEG ringing and chroma blur reach ~1 px. */
export const SAFETY_INSET = 1;
/** How far a cell's own edge is searched beyond the shared grid line, in px. */
export const EDGE_REACH = 14;
/** How far a drawn cell's edge can sit off the shared grid line, in px (image models: up to ±3). */
export const OFFSET_REACH = 4;
/** Lines skipped at each end of a cell's side, so a neighbour's offset corner stays out of its profile. */
export const CORNER_SKIP = 8;
/** A strip line is gutter-like under max(2 × gutter level, level + this) plus its wobble. */
export const GUTTER_LIKE_MIN = 4;
/** A margin-less edge whose gutter-like lines run longer than this is a studio that reads gutter-like. */
export const STUDIO_RUN = 4;
/** The studio's level there: the median of this many lines past 2 × OFFSET_REACH. */
export const STUDIO_SAMPLES = 12;
/** ...and it stands at least this many levels above the white for the cell's start to be found. */
export const STUDIO_MIN_GAP = 1;
/** Moving out past a shared line is refused beside content stronger than this (a sure shared line). */
export const SHARED_FAINT_MAX = 24;
/** Lines crossed moving out stand above 3 × the gutter's floor (not against a faint margin)... */
export const CONTENT_FLOOR_FACTOR = 3;
/** ...and above this fraction of the cell's inner level. */
export const CONTENT_INNER_FRACTION = 0.6;
/** Levels of the cell and of the shared line are medians over this many lines. */
export const LEVEL_LINES = 6;
/** Lines crossed moving out, or a figure's slope, stand at least this many levels (plus wobble) above the gutter. */
export const CONTENT_MIN_STEP = 1;
/** A cell's own softened edge is this many lines; past it, content holds its level... */
export const SOFT_EDGE_LINES = 2;
/** ...within this fraction of its height above the gutter. */
export const BAND_HOLD = 0.5;
/** A walk stopped on a figure's slope ends where lines first rise this fraction up off the gutter. */
export const SLOPE_FRACTION = 0.25;
/** A strip's gutter is judged against this many lines of cell on each side (past the edge line). */
export const SEPARATION_BAND = 9;
/** Cell and gutter lines this many levels apart (beyond SEPARATION_WOBBLES × wobble) are fully apart. */
export const SEPARATION_GAP = 0.5;
export const SEPARATION_WOBBLES = 3;
/** At most this many gutter lines nearest a side are compared with it. */
export const SEPARATION_NEAR = 4;
/** A cell's steady content, looked for from the cell's side: this many lines past 2 × OFFSET_REACH... */
export const CONTENT_BAND = 12;
/** ...at least this many of them... */
export const MIN_CONTENT_LINES = 4;
/** ...varying by at most this fraction of their height above the gutter. */
export const CONTENT_STEADY = 0.5;
/** ...and clear of the gutter by CONTENT_MIN_STEP plus this many wobbles. */
export const CONTENT_CLEAR_WOBBLES = 3;
/** The gutter's level there: this quantile of its lines (its lower quarter, under any ringing). */
export const GUTTER_LEVEL_QUANTILE = 0.25;
/** A faint JPEG step found from the content is placed this far up. */
export const FAINT_JPEG_CONTENT_LEVEL = 0.75;

// Equal split (index.ts) --------------------------------------------------------------------------

/** An equal split trims at most this fraction of a cell's smaller side from each side. */
export const MAX_TRIM = 0.08;
/** A trimmed line is gutter-like under max(level × TRIM_FACTOR + TRIM_SLACK, level + TRIM_MIN). */
export const TRIM_FACTOR = 1.6;
export const TRIM_SLACK = 1.5;
export const TRIM_MIN = 3;
/** Margins that leave less than this fraction of the sheet are not margins. */
export const MIN_CONTENT_FRACTION = 0.5;
