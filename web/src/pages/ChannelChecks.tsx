/** The default channels as checkboxes: the new-shoot form's deliver choice and the pack form share it. */
import { useEffect, useState } from "preact/hooks";
import { client, okAs } from "../api.ts";
import type { ChannelSpec } from "../types.ts";

/** The default channel set (`GET /api/channels`), or the error that kept it away. */
export function useDefaultChannels(): { channels: ChannelSpec[]; error: string | null } {
  const [channels, setChannels] = useState<ChannelSpec[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    okAs<{ channels: ChannelSpec[] }>(client.GET("/api/channels")).then(
      (l) => setChannels(l.channels),
      (e: Error) => setError(e.message),
    );
  }, []);
  return { channels, error };
}

export function ChannelChecks({
  legend,
  channels,
  chosen,
  onChange,
}: {
  legend: string;
  channels: ChannelSpec[];
  chosen: Set<string>;
  onChange: (chosen: Set<string>) => void;
}) {
  const toggle = (name: string) => onChange(new Set(chosen.has(name) ? [...chosen].filter((n) => n !== name) : [...chosen, name]));
  return (
    <fieldset>
      <legend>{legend}</legend>
      <div class="grid3">
        {channels.map((c) => (
          <label key={c.name} class="check">
            <input type="checkbox" checked={chosen.has(c.name)} onChange={() => toggle(c.name)} />
            {c.label}{" "}
            <span class="hint">
              {c.width} × {c.height}
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
