/**
 * Where the sheet and its photos go in together: dropped (files, folders, zips) or picked with
 * either button (files, or a whole folder). The buttons are labels around real file inputs, so the
 * keyboard and screen readers have the same way in as the mouse.
 */
import { useRef, useState } from "preact/hooks";
import { filesOfDrop } from "./files.ts";

export function DropZone({ onFiles, onError }: { onFiles: (files: File[]) => void; onError: (message: string) => void }) {
  const [over, setOver] = useState(false);
  // dragenter/dragleave fire for every child crossed: count them so the highlight does not flicker.
  const depth = useRef(0);
  const picked = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    if (input.files?.length) onFiles([...input.files]);
    input.value = "";
  };
  return (
    // biome-ignore lint/a11y/useSemanticElements: a group of two file pickers that is also a drop target; a fieldset would draw a frame and a legend
    <div
      role="group"
      aria-labelledby="drop-title"
      aria-describedby="drop-hint"
      class={`dropzone intake-drop${over ? " over" : ""}`}
      data-testid="batch-dropzone"
      onDragEnter={(e) => {
        e.preventDefault();
        depth.current++;
        setOver(true);
      }}
      onDragOver={(e) => {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={() => {
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setOver(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        depth.current = 0;
        setOver(false);
        if (!e.dataTransfer) return;
        filesOfDrop(e.dataTransfer).then(onFiles, (err: Error) => onError(`The dropped folder could not be read: ${err.message}`));
      }}
    >
      <p id="drop-title" class="drop-title">
        Drop the sheet and its photos here
      </p>
      <p id="drop-hint" class="hint">
        One sheet (CSV or JSON) and the photos its rows name: loose files, a folder, or zips. Drop more at any time; a file with the same name replaces the one
        before.
      </p>
      <div class="row center">
        <label class="button">
          Choose the sheet and photos
          <input type="file" multiple class="visually-hidden" accept=".csv,.json,.zip,image/*,text/csv,application/json,application/zip" onChange={picked} />
        </label>
        <label class="button">
          Choose a folder
          <input
            type="file"
            multiple
            class="visually-hidden"
            // Preact's types have no webkitdirectory; the property is set on the element itself.
            ref={(el) => {
              if (el) el.webkitdirectory = true;
            }}
            onChange={picked}
          />
        </label>
      </div>
    </div>
  );
}
