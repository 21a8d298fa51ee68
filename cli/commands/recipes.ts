/** `atelier recipes list | create`: named, versioned batch settings. */
import { readFile } from "node:fs/promises";
import { answer, connect, ok, type Schemas } from "../api.ts";
import { command } from "../command.ts";
import { EXIT, usageError } from "../exit.ts";
import { table, truncate } from "../format.ts";
import { json, out } from "../output.ts";

export const list = command({
  name: "recipes list",
  args: [],
  summary: "The account's recipes, each at its latest version.",
  options: { json: { type: "boolean", help: "Print the API's answer (RecipeList) as JSON" } },
  async run(_, o) {
    const { recipes } = await ok(connect().GET("/api/recipes"));
    if (o.json) json({ recipes });
    else if (!recipes.length) out("no recipes");
    else
      out(
        table([
          ["NAME", "VERSION", "CREATED", "SETTINGS"],
          ...recipes.map((r) => [r.name, `${r.version} of ${r.versions}`, r.createdAt, truncate(JSON.stringify(r.settings), 80)]),
        ]),
      );
    return EXIT.ok;
  },
});

export const create = command({
  name: "recipes create",
  args: ["NAME"],
  summary: "Save settings under NAME: a new name is version 1, new settings for a name its next version.",
  details: [`atelier recipes create ss27-studio --settings '{"review":[],"aspectRatio":"4:5","presets":{"background":"studio"}}'`],
  options: {
    settings: { type: "string", value: "JSON", help: "The settings (RecipeSettings): review, presets, aspectRatio, stitch, budgetUsd, …" },
    file: { type: "string", value: "PATH", help: "Read the settings from a JSON file instead" },
  },
  async run([name], o) {
    if ((o.settings === undefined) === (o.file === undefined)) throw usageError("give the settings with --settings JSON or --file PATH (one of them)");
    const text =
      o.settings ??
      (await readFile(o.file!, "utf8").catch((err: NodeJS.ErrnoException) => {
        throw usageError(`cannot read ${o.file}: ${err.code ?? err.message}`);
      }));
    let settings: Schemas["RecipeSettings"];
    try {
      settings = JSON.parse(text);
    } catch (err) {
      throw usageError(`the settings are not JSON: ${(err as Error).message}`);
    }
    const { data, status } = await answer(connect().POST("/api/recipes", { body: { name, settings } }));
    out(status === 201 ? `saved ${data.name}@${data.version}` : `${data.name}@${data.version} already has these settings`);
    return EXIT.ok;
  },
});
