import type { Command } from "../command.js";
import { runsArtifact } from "./artifact.js";
import { configSchema, configValidate } from "./config.js";
import { datasetsFetch, datasetsList } from "./datasets.js";
import { modelsList, modelsPromote, modelsRollback, modelsShow } from "./models.js";
import { quickstart } from "./quickstart.js";
import { runsList, runsShow } from "./runs.js";
import { schemaInfer } from "./schema.js";
import { serve } from "./serve.js";
import { train } from "./train.js";

/** Every command, in the order `netwarden help` lists them. */
export const COMMANDS: readonly Command[] = [
  quickstart,
  train,
  serve,
  runsList,
  runsShow,
  runsArtifact,
  modelsList,
  modelsShow,
  modelsPromote,
  modelsRollback,
  schemaInfer,
  datasetsList,
  datasetsFetch,
  configValidate,
  configSchema,
];
