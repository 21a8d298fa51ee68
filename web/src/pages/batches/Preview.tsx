/**
 * The preview of a batch before it starts: every row with its SKU, brief, references (thumbnails of
 * the dropped photos) and quote; or, when the server refused the sheet, the same rows read in the
 * browser with each error beside its row and the errors about files and settings above the table.
 */
import { STAGES } from "../../contract.ts";
import { STAGE_LABEL, usd } from "../../format.ts";
import type { CheckpointStage } from "../../types.ts";
import type { BatchQuote } from "./request.ts";
import { type FieldError, type SheetRow, fieldLabel, referenceOf, rowOf } from "./sheet.ts";

export type Result =
  | { kind: "quote"; quote: BatchQuote }
  | { kind: "refused"; errors: FieldError[]; rows: SheetRow[] | null }
  | { kind: "failed"; message: string };

interface Props {
  result: Result;
  sheetName: string;
  /** Object URLs of the dropped photos, by file name. */
  thumbs: Map<string, string>;
}

export function Preview({ result, sheetName, thumbs }: Props) {
  if (result.kind === "failed")
    return (
      <p role="alert" class="error">
        The preview failed: {result.message}
      </p>
    );
  return result.kind === "quote" ? (
    <Quote quote={result.quote} sheetName={sheetName} thumbs={thumbs} />
  ) : (
    <Refused {...result} sheetName={sheetName} thumbs={thumbs} />
  );
}

function Quote({ quote, sheetName, thumbs }: { quote: BatchQuote; sheetName: string; thumbs: Map<string, string> }) {
  const held = quote.budgetUsd !== null && !quote.withinBudget;
  return (
    <>
      <div class="quote-summary">
        <p>
          <strong>
            {quote.total} {quote.total === 1 ? "row" : "rows"}, quote {usd(quote.totalUsd)}
          </strong>
          {quote.recipe && <> · recipe {quote.recipe}</>} · {quote.photos.used} {quote.photos.used === 1 ? "photo" : "photos"} used
        </p>
        {quote.budgetUsd !== null && (
          <p class={held ? "warn" : "meta"}>
            {held
              ? `Over the batch budget of ${usd(quote.budgetUsd)}: the first ${quote.placeable} of ${quote.total} rows will be placed, the rest held.`
              : `Within the batch budget of ${usd(quote.budgetUsd)}.`}
          </p>
        )}
        {quote.photos.unused.length > 0 && <p class="meta">Photos no row names (they will not be stored): {quote.photos.unused.join(", ")}</p>}
      </div>
      <div class="table-wrap">
        <table class="history intake-table">
          <caption>Preview of {sheetName}: nothing is created until you start the batch</caption>
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">SKU</th>
              <th scope="col">Brief</th>
              <th scope="col">References</th>
              <th scope="col">Review</th>
              <th scope="col" class="num">
                Quote
              </th>
            </tr>
          </thead>
          <tbody>
            {quote.rows.map((r, i) => (
              <tr key={r.index}>
                <th scope="row">{r.index + 1}</th>
                <td>{r.sku ?? <span class="meta">none</span>}</td>
                <td>
                  {r.brief}
                  {r.recipe && <span class="meta block">recipe {r.recipe}</span>}
                </td>
                <td>
                  <References refs={r.references.map((x) => ({ name: x.ref, source: x.source }))} thumbs={thumbs} bad={new Set()} />
                </td>
                <td>{reviewLabel(r.review)}</td>
                <td class="num">
                  {usd(r.costUsd)}
                  {held && i >= quote.placeable && <span class="meta block">held: over budget</span>}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={5}>
                Total
              </th>
              <td class="num">{usd(quote.totalUsd)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}

function Refused({ errors, rows, sheetName, thumbs }: { errors: FieldError[]; rows: SheetRow[] | null; sheetName: string; thumbs: Map<string, string> }) {
  const byRow = new Map<number, FieldError[]>();
  const general: FieldError[] = [];
  for (const e of errors) {
    const i = rowOf(e.field);
    if (i !== null && rows && i < rows.length) byRow.set(i, [...(byRow.get(i) ?? []), e]);
    else general.push(e);
  }
  const badRows = [...byRow.keys()].sort((a, b) => a - b);
  return (
    <>
      <div role="alert" class="refused intake-refused">
        <p>
          <strong>
            {errors.length} {errors.length === 1 ? "problem" : "problems"}: nothing can start until {errors.length === 1 ? "it is" : "they are"} fixed.
          </strong>{" "}
          Correct the sheet or add the photos it names, then drop them again.
        </p>
        {general.length > 0 && (
          <ul aria-label="Problems with the files and settings">
            {general.map((e) => (
              <li key={`${e.field}:${e.message}`}>
                <ErrorText error={e} withRow />
              </li>
            ))}
          </ul>
        )}
        {badRows.length > 0 && (
          <p>
            {badRows.length === 1 ? "Row " : "Rows "}
            {badRows.map((i) => i + 1).join(", ")} {badRows.length === 1 ? "has problems, shown beside it" : "have problems, shown beside them"} in the table.
          </p>
        )}
      </div>
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table class="history intake-table">
            <caption>Rows of {sheetName} as written (not checked further until the problems are fixed)</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">SKU</th>
                <th scope="col">Brief</th>
                <th scope="col">References</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const errs = byRow.get(r.index) ?? [];
                const bad = new Set(errs.map((e) => referenceOf(e.field)).filter((j): j is number => j !== null));
                return (
                  <tr key={r.index} class={errs.length ? "bad" : undefined}>
                    <th scope="row">{r.index + 1}</th>
                    <td>{r.sku ?? <span class="meta">none</span>}</td>
                    <td>{r.brief || <span class="meta">no brief</span>}</td>
                    <td>
                      <References refs={r.references.map((name) => ({ name, source: null }))} thumbs={thumbs} bad={bad} />
                    </td>
                    <td>
                      {errs.length > 0 && (
                        <div role="alert">
                          <ul class="problems" aria-label={`Problems in row ${r.index + 1}`}>
                            {errs.map((e) => (
                              <li key={`${e.field}:${e.message}`}>
                                <ErrorText error={e} withRow={false} />
                              </li>
                            ))}
                          </ul>
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function ErrorText({ error, withRow }: { error: FieldError; withRow: boolean }) {
  const row = rowOf(error.field);
  return (
    <>
      <strong>
        {withRow && row !== null ? `Row ${row + 1}, ` : ""}
        {fieldLabel(error.field)}:
      </strong>{" "}
      {error.message}
    </>
  );
}

const SOURCE_NOTE: Record<string, string> = { zip: "in a zip", url: "web address", upload: "uploaded before" };

function References({ refs, thumbs, bad }: { refs: { name: string; source: string | null }[]; thumbs: Map<string, string>; bad: Set<number> }) {
  if (refs.length === 0) return <span class="meta">none</span>;
  return (
    <ul class="ref-chips">
      {refs.map((r, j) => {
        const thumb = r.source === null || r.source === "file" ? thumbs.get(r.name) : undefined;
        return (
          <li key={`${j}:${r.name}`} class={bad.has(j) ? "bad" : undefined}>
            {thumb ? (
              <img src={thumb} alt="" width={40} height={40} />
            ) : (
              <span class="nothumb" aria-hidden="true">
                {bad.has(j) ? "?" : r.source === "zip" ? "zip" : r.source === "url" ? "url" : r.source === "upload" ? "id" : ""}
              </span>
            )}
            <span class="name">
              {r.name}
              {r.source && SOURCE_NOTE[r.source] && <span class="meta block">{SOURCE_NOTE[r.source]}</span>}
              {bad.has(j) && <span class="visually-hidden"> (has a problem)</span>}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

function reviewLabel(review: string[]): string {
  if (review.length === 0) return "None";
  if (STAGES.every((s) => review.includes(s))) return "Every stage";
  return review.map((s) => STAGE_LABEL[s as CheckpointStage] ?? s).join(", ");
}
