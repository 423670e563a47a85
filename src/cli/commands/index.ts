import type { Command } from "../command.js";
import { runsArtifact } from "./artifact.js";
import { configSchema, configValidate } from "./config.js";
import { datasetsFetch, datasetsList } from "./datasets.js";
import { datasetsLoad } from "./datasets-load.js";
import { dbMigrate } from "./db.js";
import { jobsRun } from "./jobs.js";
import { modelsList, modelsPromote, modelsRollback, modelsShow } from "./models.js";
import { quickstart } from "./quickstart.js";
import { runsList, runsShow } from "./runs.js";
import { schemaInfer } from "./schema.js";
import { serve, serveKeysCreate } from "./serve.js";
import { train } from "./train.js";
import { worker } from "./worker.js";

/** Every command, in the order `netwarden help` lists them. */
export const COMMANDS: readonly Command[] = [
  quickstart,
  train,
  serve,
  serveKeysCreate,
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
  datasetsLoad,
  dbMigrate,
  jobsRun,
  worker,
  configValidate,
  configSchema,
];
