/** The media job contract between the Worker and the media service (see docs/contracts.md). */
export interface MediaJobMessage {
  jobId: string;
}

/** Stored on the job row; the consumer turns keys into signed URLs when it dispatches. */
export interface MediaJobRequest {
  kind: "crop" | "reframe" | "stitch" | "probe";
  inputs: { name: string; key: string }[];
  outputs: { name: string; key: string; mime: string }[];
  params: Record<string, unknown>;
}

export interface MediaOutputMeta {
  bytes: number;
  sha256: string;
  mime: string;
  width?: number;
  height?: number;
  duration?: number;
  frames?: number;
  fps?: number;
}
