/**
 * Migration 1. Tables carry an `nw_` prefix so netwarden can share a database (and schema) with
 * other applications. Metric values are float8, which holds NaN and ±Infinity; JSON columns hold
 * them as the strings "NaN", "Infinity", "-Infinity" (see rules.ts).
 */
export const INITIAL = `
CREATE TABLE nw_runs (
  id text PRIMARY KEY,
  pipeline text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'rejected')),
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  params jsonb NOT NULL DEFAULT '{}',
  metrics jsonb NOT NULL DEFAULT '{}',
  tags jsonb NOT NULL DEFAULT '{}',
  error jsonb,
  parent_run_id text
);
CREATE INDEX nw_runs_newest ON nw_runs (started_at DESC, id DESC);
CREATE INDEX nw_runs_pipeline_newest ON nw_runs (pipeline, started_at DESC, id DESC);

CREATE TABLE nw_run_artifacts (
  run_id text NOT NULL REFERENCES nw_runs (id) ON DELETE CASCADE,
  name text NOT NULL,
  -- first-logged order; replacing a name keeps its place
  pos bigserial,
  hash text NOT NULL,
  size bigint NOT NULL,
  media_type text NOT NULL,
  PRIMARY KEY (run_id, name)
);

CREATE TABLE nw_metric_points (
  run_id text NOT NULL REFERENCES nw_runs (id) ON DELETE CASCADE,
  key text NOT NULL,
  seq bigserial,
  step bigint NOT NULL,
  value float8 NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (run_id, key, seq)
);

CREATE TABLE nw_models (
  name text PRIMARY KEY,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  latest_version integer NOT NULL DEFAULT 0
);

CREATE TABLE nw_model_versions (
  model text NOT NULL REFERENCES nw_models (name),
  version integer NOT NULL CHECK (version >= 1),
  run_id text NOT NULL REFERENCES nw_runs (id),
  bundle_hash text NOT NULL,
  created_at timestamptz NOT NULL,
  metrics jsonb NOT NULL,
  lineage jsonb NOT NULL,
  description text,
  PRIMARY KEY (model, version)
);

CREATE TABLE nw_aliases (
  model text NOT NULL,
  alias text NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (model, alias),
  FOREIGN KEY (model, version) REFERENCES nw_model_versions (model, version)
);

-- Every registry change: who, when, what (from -> to) and why. Rows are only ever inserted.
CREATE TABLE nw_registry_audit (
  seq bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  reason text NOT NULL,
  action text NOT NULL CHECK (action IN ('register', 'set_alias', 'delete_alias')),
  model text NOT NULL REFERENCES nw_models (name),
  alias text,
  from_version integer,
  to_version integer,
  run_id text
);
CREATE INDEX nw_registry_audit_model ON nw_registry_audit (model, seq);
`;
