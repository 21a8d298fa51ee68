/** A review link's page: one checkpoint's artifacts for someone with no key, and one decision under their name. */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, client, ok, okAs } from "../api.ts";
import { STAGE_LABEL, when } from "../format.ts";
import { CheckpointReview, type DecideResult } from "../review/CheckpointReview.tsx";
import type { Decision, ReviewPage } from "../types.ts";

export function ReviewLinkPage({ token }: { token: string }) {
  const [page, setPage] = useState<ReviewPage | null>(null);
  const [refused, setRefused] = useState<{ title: string; detail: string } | null>(null);
  const path = { params: { path: { token } } };

  useEffect(() => {
    okAs<ReviewPage>(client.GET("/api/review/{token}", path))
      .then(setPage)
      .catch((e: ApiError) => setRefused({ title: e.problem.title, detail: e.message }));
  }, [token]);

  async function decide(d: Decision, reviewer?: string): Promise<DecideResult> {
    try {
      await ok(client.POST("/api/review/{token}", { ...path, body: { ...reviewable(d), reviewer: reviewer ?? "" } }));
      return { ok: true };
    } catch (err) {
      const e = err as ApiError;
      if (e.status === 410 || e.status === 409) {
        setRefused({ title: e.problem.title, detail: e.message });
        return { ok: false, message: e.message };
      }
      return { ok: false, message: e.message, errors: e.problem?.errors };
    }
  }

  if (refused) {
    return (
      <section class="narrow refused" aria-labelledby="refused-title">
        <h1 id="refused-title">{refused.title}</h1>
        <p>{refused.detail.charAt(0).toUpperCase() + refused.detail.slice(1)}.</p>
        <p>Nothing was changed. Ask the producer who sent you this link for a new one.</p>
      </section>
    );
  }
  if (!page) return <p role="status">Loading the review…</p>;
  return (
    <section>
      <h1>Review: {STAGE_LABEL[page.checkpoint.stage]}</h1>
      <p class="meta">
        “{page.shoot.brief}” · attempt {page.checkpoint.attempt} · this link works for one decision until {when(page.linkExpiresAt)}
      </p>
      <section class="panel" aria-label="Checkpoint">
        <CheckpointReview checkpoint={page.checkpoint} assets={page.assets} plan={null} decide={decide} reviewer />
      </section>
    </section>
  );
}

/** What a review link may send: approve or revise with feedback and the clips/frames/stitch targets. */
function reviewable(d: Decision) {
  const { action, feedback, frames, clips, stitch, marks } = d;
  return { action: action === "revise" ? ("revise" as const) : ("approve" as const), feedback, frames, clips, stitch, marks };
}
