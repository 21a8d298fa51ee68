/** Recipes in the API contract: the settings a brand reuses, named and versioned. */
import { z } from "@hono/zod-openapi";
import { STAGES } from "../domain/contract.ts";
import { RecipeNameSchema, RecipeSettingsSchema } from "../domain/shoot.ts";
import { Presets, Stage, StitchSettings } from "./schemas.ts";

export const RecipeSettings = RecipeSettingsSchema.extend({
  presets: Presets.optional(),
  stitch: StitchSettings.optional(),
  review: z.array(Stage).max(STAGES.length).optional().openapi({ description: "Stages a human reviews; `[]` for none" }),
  budgetUsd: RecipeSettingsSchema.shape.budgetUsd.openapi({ description: "Budget per shoot (USD)" }),
}).openapi("RecipeSettings");

export const RecipeName = RecipeNameSchema.openapi({
  description: "The recipe's name; rows and batches name it as `name` (latest) or `name@version`",
  example: "ss27-studio",
});

export const CreateRecipe = z.object({ name: RecipeName, settings: RecipeSettings }).strict().openapi("CreateRecipe");

export const Recipe = z
  .object({
    name: z.string(),
    version: z.number().int().openapi({ description: "Starts at 1; every change of settings is the next version" }),
    settings: RecipeSettings,
    createdAt: z.string(),
  })
  .openapi("Recipe");

export const RecipeList = z
  .object({ recipes: z.array(Recipe.extend({ versions: z.number().int().openapi({ description: "How many versions exist" }) })) })
  .openapi("RecipeList");
export const RecipeVersions = z.object({ name: z.string(), versions: z.array(Recipe).openapi({ description: "Newest first" }) }).openapi("RecipeVersions");
export const RecipeNameParam = z.object({ name: RecipeName });
