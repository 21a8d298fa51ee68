/**
 * New shoot: references dropped or picked are uploaded one file per request, so the server's verdict
 * (and its message) belongs to that file; brief, presets from the API, aspect ratio, review policy.
 */
import { ChannelChecks, useDefaultChannels } from "./ChannelChecks.tsx";
import { useEffect, useRef, useState } from "preact/hooks";
import { type ApiError, client, ok, okAs } from "../api.ts";
import { STAGE_LABEL } from "../format.ts";
import { navigate } from "../router.ts";
import type { components } from "../../../src/api/openapi.gen.ts";
import type { Presets, Stage } from "../types.ts";

type CreateShoot = components["schemas"]["CreateShoot"];
type Role = NonNullable<NonNullable<CreateShoot["referenceRoles"]>[number]>;
/** What a reference can show, for the quality checks; a Record so a role the API adds fails to compile here. */
const ROLE_LABEL: Record<Role, string> = { model: "The model", garment: "A garment", accessory: "An accessory" };

interface Ref {
  key: number;
  name: string;
  preview: string | null;
  state: "uploading" | "ok" | "error";
  id?: string;
  error?: string;
  /** What the photo shows ("" for other: the checks leave it out). */
  role: Role | "";
}
let nextKey = 1;

export function NewShootPage() {
  const [presets, setPresets] = useState<Presets | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [refs, setRefs] = useState<Ref[]>([]);
  const [brief, setBrief] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [pose, setPose] = useState("");
  const [background, setBackground] = useState("");
  const [style, setStyle] = useState("");
  const [aspect, setAspect] = useState("");
  const [review, setReview] = useState<Stage[] | null>(null);
  const [flaggedOnly, setFlaggedOnly] = useState(false);
  const [autoFix, setAutoFix] = useState(false);
  const { channels } = useDefaultChannels();
  const [deliver, setDeliver] = useState<Set<string>>(new Set());
  const [dragging, setDragging] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const briefRef = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    okAs<Presets>(client.GET("/api/presets"))
      .then((p) => {
        setPresets(p);
        setReview(p.defaultReview);
      })
      .catch((e: ApiError) => setLoadError(e.message));
  }, []);

  const update = (key: number, patch: Partial<Ref>) => setRefs((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));

  function addFiles(files: FileList | File[]) {
    setErrors((x) => ({ ...x, references: "" }));
    for (const file of Array.from(files)) {
      const key = nextKey++;
      const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
      setRefs((rs) => [...rs, { key, name: file.name, preview, state: "uploading", role: "" }]);
      const form = new FormData();
      form.append("files", file);
      ok(client.POST("/api/uploads", { body: form as unknown as { files: string[] }, bodySerializer: (b) => b as unknown as FormData }))
        .then((r) => update(key, { state: "ok", id: r.uploads[0].id }))
        .catch((e: ApiError) => update(key, { state: "error", error: e.field("files[0]") ?? e.field("files") ?? e.message }));
    }
  }

  async function submit(e: Event) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (brief.trim().length === 0) errs.brief = "Write a brief: one line on the look and mood of the shoot";
    else if (brief.trim().length < 3) errs.brief = "The brief needs at least 3 characters";
    const good = refs.filter((r) => r.state === "ok");
    if (good.length === 0) errs.references = "Add at least one reference photo that uploaded";
    else if (good.length > 8) errs.references = "Use at most 8 reference photos";
    if (refs.some((r) => r.state === "uploading")) errs.references = "Wait for the uploads to finish";
    setErrors(errs);
    if (errs.brief) return briefRef.current?.focus();
    if (errs.references) return;
    setSubmitting(true);
    setFormError(null);
    const body = {
      brief: brief.trim(),
      references: good.map((r) => r.id!),
      ...(pose || background || style ? { presets: { ...(pose && { pose }), ...(background && { background }), ...(style && { style }) } } : {}),
      ...(aspect ? { aspectRatio: aspect } : {}),
      review: review ?? undefined,
      ...(good.some((r) => r.role) ? { referenceRoles: good.map((r) => r.role || null) } : {}),
      ...(flaggedOnly ? { reviewPolicy: "flagged" as const } : {}),
      ...(autoFix ? { autoFix: true } : {}),
      ...(deliver.size ? { channels: [...deliver] } : {}),
    };
    try {
      const shoot = await ok(client.POST("/api/shoots", { body: body as CreateShoot }));
      navigate(`/shoots/${shoot.id}`);
    } catch (err) {
      const e2 = err as ApiError;
      const fieldErrs: Record<string, string> = {};
      for (const fe of e2.problem?.errors ?? []) fieldErrs[fe.field.startsWith("references") ? "references" : fe.field.replace(/\[.*$/, "")] = fe.message;
      setErrors(fieldErrs);
      setFormError(e2.message);
      setSubmitting(false);
    }
  }

  if (loadError)
    return (
      <p role="alert" class="error">
        Could not load the presets: {loadError}
      </p>
    );
  if (!presets) return <p role="status">Loading…</p>;

  return (
    <section class="narrow">
      <h1>New shoot</h1>
      <form noValidate onSubmit={submit}>
        <fieldset>
          <legend>Reference photos</legend>
          {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target for dragged files; the file input inside it is the keyboard and screen-reader path */}
          <div
            class={`dropzone${dragging ? " over" : ""}`}
            data-testid="dropzone"
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => {
              e.preventDefault();
              setDragging(false);
              if (e.dataTransfer?.files.length) addFiles(e.dataTransfer.files);
            }}
          >
            <p>Drop 1–8 photos here (the model, garments, accessories), or</p>
            <label class="button" for="files">
              Choose files
            </label>
            <input
              id="files"
              ref={fileInput}
              class="visually-hidden"
              type="file"
              multiple
              accept="image/png,image/jpeg,image/webp"
              onChange={(e) => {
                if (e.currentTarget.files) addFiles(e.currentTarget.files);
                e.currentTarget.value = "";
              }}
            />
          </div>
          {refs.length > 0 && (
            <ul class="refs" aria-label="Reference photos">
              {refs.map((r) => (
                <li key={r.key} class={`ref ${r.state}`} aria-label={r.name}>
                  {r.preview ? (
                    <img src={r.preview} alt={`Preview of ${r.name}`} />
                  ) : (
                    <span class="noimg" aria-hidden="true">
                      ?
                    </span>
                  )}
                  <span class="name">{r.name}</span>
                  <span class="role">
                    <label for={`role-${r.key}`}>What this photo shows</label>
                    <select
                      id={`role-${r.key}`}
                      value={r.role}
                      onChange={(e) => {
                        update(r.key, { role: e.currentTarget.value as Role | "" });
                        setErrors((x) => ({ ...x, referenceRoles: "" }));
                      }}
                    >
                      {(Object.keys(ROLE_LABEL) as Role[]).map((role) => (
                        <option value={role}>{ROLE_LABEL[role]}</option>
                      ))}
                      <option value="">Something else</option>
                    </select>
                  </span>
                  {r.state === "uploading" && <span role="status">Uploading…</span>}
                  {r.state === "ok" && <span class="ok">Uploaded</span>}
                  {r.state === "error" && (
                    <span role="alert" class="field-error">
                      {r.error}
                    </span>
                  )}
                  <button type="button" class="link" aria-label={`Remove ${r.name}`} onClick={() => setRefs((rs) => rs.filter((x) => x.key !== r.key))}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
          {errors.references && (
            <p class="field-error" role="alert">
              {errors.references}
            </p>
          )}
        </fieldset>

        <label for="brief">Brief</label>
        <textarea
          id="brief"
          ref={briefRef}
          rows={2}
          maxLength={2000}
          value={brief}
          placeholder="streetwear editorial, confident energy"
          aria-invalid={!!errors.brief}
          aria-describedby={errors.brief ? "brief-err" : undefined}
          onInput={(e) => {
            setBrief(e.currentTarget.value);
            setErrors((x) => ({ ...x, brief: "" }));
          }}
        />
        {errors.brief && (
          <p id="brief-err" class="field-error">
            {errors.brief}
          </p>
        )}

        <div class="grid3">
          <Picker id="pose" label="Pose" value={pose} set={setPose} options={presets.poses} />
          <Picker id="background" label="Background" value={background} set={setBackground} options={presets.backgrounds} />
          <Picker id="style" label="Style" value={style} set={setStyle} options={presets.styles} />
        </div>

        <label for="aspect">Aspect ratio</label>
        <select id="aspect" value={aspect} onChange={(e) => setAspect(e.currentTarget.value)}>
          <option value="">Model default</option>
          {presets.aspectRatios.map((a) => (
            <option value={a}>{a}</option>
          ))}
        </select>

        <fieldset>
          <legend>Checkpoints that need review</legend>
          <div class="checks">
            {presets.stages.map((s) => (
              <label class="check">
                <input
                  type="checkbox"
                  checked={review?.includes(s)}
                  onChange={(e) => setReview((r) => (e.currentTarget.checked ? [...(r ?? []), s] : (r ?? []).filter((x) => x !== s)))}
                />
                {STAGE_LABEL[s]}
              </label>
            ))}
          </div>
        </fieldset>

        <fieldset>
          <legend>Quality checks</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={flaggedOnly}
              aria-invalid={!!errors.referenceRoles}
              aria-describedby={errors.referenceRoles ? "policy-err" : "policy-hint"}
              onChange={(e) => {
                setFlaggedOnly(e.currentTarget.checked);
                setErrors((x) => ({ ...x, referenceRoles: "" }));
              }}
            />{" "}
            Review only what the checks flag
          </label>
          <p id="policy-hint" class="hint">
            The checkpoints above wait for you only when a check flags something. The checks need to know what the photos show: set it for at least one.
          </p>
          {errors.referenceRoles && (
            <p id="policy-err" class="field-error" role="alert">
              {errors.referenceRoles}
            </p>
          )}
          <label class="check">
            <input type="checkbox" checked={autoFix} onChange={(e) => setAutoFix(e.currentTarget.checked)} /> Auto-fix flagged items once
          </label>
        </fieldset>

        <ChannelChecks legend="Deliver to channels when the reel is approved" channels={channels} chosen={deliver} onChange={setDeliver} />

        {formError && (
          <p role="alert" class="error">
            The shoot was not created: {formError}
          </p>
        )}
        <button type="submit" class="primary" disabled={submitting}>
          {submitting ? "Starting…" : "Start shoot"}
        </button>
      </form>
    </section>
  );
}

function Picker(p: { id: string; label: string; value: string; set: (v: string) => void; options: { id: string; description: string }[] }) {
  const chosen = p.options.find((o) => o.id === p.value);
  return (
    <div>
      <label for={p.id}>{p.label}</label>
      <select id={p.id} value={p.value} onChange={(e) => p.set(e.currentTarget.value)} aria-describedby={`${p.id}-desc`}>
        <option value="">From the brief</option>
        {p.options.map((o) => (
          <option value={o.id}>{o.id}</option>
        ))}
      </select>
      <p id={`${p.id}-desc`} class="hint">
        {chosen ? chosen.description : "Chosen from the brief's keywords"}
      </p>
    </div>
  );
}
