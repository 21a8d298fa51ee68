/** Recipes: named settings per account, one row per version (a change is a new version, never an edit). */
import { and, desc, eq, sql } from "drizzle-orm";
import { canonical } from "../lib/canonical.ts";
import type { RecipeSettings } from "../domain/shoot.ts";
import type { Db } from "./client.ts";
import { recipes } from "./schema.ts";

export interface Recipe {
  name: string;
  version: number;
  settings: RecipeSettings;
  createdAt: string;
}

const toRecipe = (r: typeof recipes.$inferSelect): Recipe => ({
  name: r.name,
  version: r.version,
  settings: r.settings as RecipeSettings,
  createdAt: r.createdAt,
});

/** `name` (its latest version) or `name@version`. */
export function parseRecipeRef(ref: string): { name: string; version: number | null } {
  const at = ref.lastIndexOf("@");
  return at < 0 ? { name: ref, version: null } : { name: ref.slice(0, at), version: Number(ref.slice(at + 1)) };
}

export async function findRecipe(d: Db, accountId: string, ref: string): Promise<Recipe | null> {
  const { name, version } = parseRecipeRef(ref);
  const row = await d
    .select()
    .from(recipes)
    .where(and(eq(recipes.accountId, accountId), eq(recipes.name, name), version === null ? undefined : eq(recipes.version, version)))
    .orderBy(desc(recipes.version))
    .limit(1)
    .get();
  return row ? toRecipe(row) : null;
}

/** Every version of one recipe, newest first. */
export async function recipeVersions(d: Db, accountId: string, name: string): Promise<Recipe[]> {
  const rows = await d
    .select()
    .from(recipes)
    .where(and(eq(recipes.accountId, accountId), eq(recipes.name, name)))
    .orderBy(desc(recipes.version))
    .all();
  return rows.map(toRecipe);
}

/** The latest version of each recipe of the account, by name. */
export async function latestRecipes(d: Db, accountId: string): Promise<(Recipe & { versions: number })[]> {
  const rows = await d
    .select()
    .from(recipes)
    .where(
      and(
        eq(recipes.accountId, accountId),
        sql`${recipes.version} = (SELECT max(r2.version) FROM recipes r2 WHERE r2.account_id = ${recipes.accountId} AND r2.name = ${recipes.name})`,
      ),
    )
    .orderBy(recipes.name)
    .all();
  return rows.map((r) => ({ ...toRecipe(r), versions: r.version }));
}

/**
 * Saves settings under a name: the same settings as the latest version return it (`created: false`);
 * anything else becomes the next version, numbered in the one INSERT so two writers cannot share one.
 */
export async function saveRecipe(d: Db, accountId: string, name: string, settings: RecipeSettings): Promise<{ recipe: Recipe; created: boolean }> {
  const latest = await findRecipe(d, accountId, name);
  if (latest && canonical(latest.settings) === canonical(settings)) return { recipe: latest, created: false };
  await d.run(sql`
    INSERT INTO recipes (account_id, name, version, settings)
    SELECT ${accountId}, ${name}, coalesce(max(version), 0) + 1, ${JSON.stringify(settings)}
    FROM recipes WHERE account_id = ${accountId} AND name = ${name}`);
  return { recipe: (await findRecipe(d, accountId, name))!, created: true };
}
