/** `atelier shoots list`: the newest shoots of the account. */
import { connect, ok, type Schemas } from "../api.ts";
import { command } from "../command.ts";
import { EXIT, usageError } from "../exit.ts";
import { table, truncate } from "../format.ts";
import { json, out } from "../output.ts";

export const list = command({
  name: "shoots list",
  args: [],
  summary: "The newest shoots, one per line.",
  options: {
    limit: { type: "string", value: "N", help: "How many (1-100, default 20)" },
    status: { type: "string", value: "STATUS", help: "Only shoots in this status (running, awaiting_review, completed, failed, …)" },
    json: { type: "boolean", help: "Print the API's answer (ShootList) as JSON" },
  },
  async run(_, o) {
    if (o.limit !== undefined && !/^\d+$/.test(o.limit)) throw usageError(`--limit is a whole number, not ${o.limit}`);
    const query = { limit: o.limit === undefined ? undefined : Number(o.limit), status: o.status as Schemas["ShootStatus"] | undefined };
    const list = await ok(connect().GET("/api/shoots", { params: { query } }));
    if (o.json) json(list);
    else if (!list.shoots.length) out("no shoots");
    else out(table([["ID", "STATUS", "STAGE", "CREATED", "BRIEF"], ...list.shoots.map((s) => [s.id, s.status, s.stage, s.createdAt, truncate(s.brief, 60)])]));
    return EXIT.ok;
  },
});
