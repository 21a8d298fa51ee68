/**
 * The files a producer gives a batch: dropped or picked, loose or in folders. Exactly one sheet
 * (.csv or .json); every image and zip is a photo part (the server checks each and names it by
 * `photos[i]`); desktop junk is skipped and anything else is set aside with a reason.
 */

export interface Selection {
  sheet: File | null;
  /** In the order they are sent: `photos[i]` in the server's errors is `photos[i]` here. */
  photos: File[];
  /** Files that are neither sheet, photo nor zip, with why they were left out. */
  ignored: { name: string; reason: string }[];
}

export const EMPTY: Selection = { sheet: null, photos: [], ignored: [] };

const JUNK = /^(\.|__MACOSX$|Thumbs\.db$|desktop\.ini$)/i;
export const isSheet = (f: File) => /\.(csv|json)$/i.test(f.name);
export const isZip = (f: File) => /\.zip$/i.test(f.name) || /^application\/(x-)?zip/.test(f.type);
const isImage = (f: File) => f.type.startsWith("image/") || /\.(png|jpe?g|webp|gif|heic|heif|avif|tiff?|bmp)$/i.test(f.name);

/**
 * Adds what was dropped or picked: a sheet replaces the sheet, a photo replaces the photo of the
 * same name (so dropping corrected files again just works). Returns the new selection and notes
 * for the person (e.g. two sheets in one drop).
 */
export function addFiles(current: Selection, files: File[]): { selection: Selection; notes: string[] } {
  const notes: string[] = [];
  const wanted = files.filter((f) => !JUNK.test(f.name));
  const sheets = wanted.filter(isSheet);
  let sheet = current.sheet;
  if (sheets.length > 1) notes.push(`Drop one sheet at a time: ${sheets.map((s) => s.name).join(", ")} are all sheets, so none of them was taken.`);
  else if (sheets.length === 1) sheet = sheets[0];

  const photos = [...current.photos];
  const seen = new Set<string>();
  for (const f of wanted.filter((f) => !isSheet(f) && (isImage(f) || isZip(f)))) {
    if (seen.has(f.name)) {
      notes.push(`Two photos in this drop are named ${f.name}; the first was kept. Photos are matched to rows by name, so names must differ.`);
      continue;
    }
    seen.add(f.name);
    const at = photos.findIndex((p) => p.name === f.name);
    if (at >= 0) photos[at] = f;
    else photos.push(f);
  }
  const ignored = [...current.ignored];
  for (const f of wanted.filter((f) => !isSheet(f) && !isImage(f) && !isZip(f)))
    if (!ignored.some((i) => i.name === f.name)) ignored.push({ name: f.name, reason: "not a sheet, photo or zip" });
  return { selection: { sheet, photos, ignored }, notes };
}

/**
 * Every file of a drop, folders walked. The items must be read while the drop event runs (the
 * browser empties them afterwards), so entries are taken first and read after.
 */
export async function filesOfDrop(dt: DataTransfer): Promise<File[]> {
  const items = [...dt.items].filter((i) => i.kind === "file").map((i) => ({ entry: i.webkitGetAsEntry?.() ?? null, file: i.getAsFile() }));
  if (items.length === 0) return [...dt.files];
  const out: File[] = [];
  for (const { entry, file } of items) {
    if (entry?.isDirectory) out.push(...(await walk(entry as FileSystemDirectoryEntry)));
    else if (file) out.push(file);
  }
  return out;
}

async function walk(dir: FileSystemDirectoryEntry): Promise<File[]> {
  if (JUNK.test(dir.name)) return [];
  const reader = dir.createReader();
  const out: File[] = [];
  // readEntries answers a part at a time (Chromium: 100) until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    for (const e of batch) {
      if (e.isDirectory) out.push(...(await walk(e as FileSystemDirectoryEntry)));
      else out.push(await new Promise<File>((resolve, reject) => (e as FileSystemFileEntry).file(resolve, reject)));
    }
  }
}
