/** Recipes: save settings under a name (a change is a new version), list them, read one's versions. */
import { $, createRoute } from "@hono/zod-openapi";
import { db } from "../db/client.ts";
import { latestRecipes, recipeVersions, saveRecipe } from "../db/recipes.ts";
import { requireApiKey } from "./auth.ts";
import { router } from "./openapi.ts";
import { notFound } from "./problem.ts";
import * as R from "./recipe-schemas.ts";
import * as S from "./schemas.ts";

const tags = ["recipes"];

export const recipesApi = $(router().use(requireApiKey))
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      operationId: "saveRecipe",
      summary: "Save a recipe: a new name, or new settings for a name, is its next version",
      description:
        "Settings equal to the latest version's return that version (200); anything else is stored as the next version (201). Versions are never edited.",
      tags,
      security: S.bearer,
      request: { body: { required: true, content: { "application/json": { schema: R.CreateRecipe } } } },
      responses: {
        201: S.json(R.Recipe, "A new version"),
        200: S.json(R.Recipe, "The latest version already has these settings"),
        ...S.problems(400, 401, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { recipe, created } = await saveRecipe(db(c.env.DB), c.get("accountId"), body.name, body.settings);
      return c.json(recipe, created ? 201 : 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      operationId: "listRecipes",
      summary: "The account's recipes, each at its latest version",
      tags,
      security: S.bearer,
      responses: { 200: S.json(R.RecipeList, "Recipes by name"), ...S.problems(401) },
    }),
    async (c) => c.json({ recipes: await latestRecipes(db(c.env.DB), c.get("accountId")) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}",
      operationId: "getRecipe",
      summary: "Every version of one recipe, newest first",
      tags,
      security: S.bearer,
      request: { params: R.RecipeNameParam },
      responses: { 200: S.json(R.RecipeVersions, "The recipe's versions"), ...S.problems(401, 404) },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const versions = await recipeVersions(db(c.env.DB), c.get("accountId"), name);
      if (!versions.length) throw notFound(`recipe ${name}`);
      return c.json({ name, versions }, 200);
    },
  );
