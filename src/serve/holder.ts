import { NetwardenError } from "../core/index.js";
import { type Bundle, decodeBundle } from "../pipeline/index.js";
import type { ArtifactStore, MetadataStore } from "../store/index.js";

export interface ServedModel {
  name: string;
  version: number;
  bundle: Bundle;
  loadedAt: string;
}

export interface HolderEvents {
  onLoad?(model: ServedModel, previous: number | undefined): void;
  onError?(name: string, error: NetwardenError): void;
}

/**
 * Holds the bundle behind an alias for each served model. A swap replaces one map entry, so a
 * request that already took its `ServedModel` finishes on it; a bundle that fails to load or to
 * score its self-check never replaces the one being served.
 */
export class ModelHolder {
  private readonly served = new Map<string, ServedModel>();
  private readonly loading = new Map<string, Promise<boolean>>();
  private readonly refused = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly artifacts: ArtifactStore,
    readonly alias: string,
    private readonly events: HolderEvents = {},
  ) {}

  get(name: string): ServedModel | undefined {
    return this.served.get(name);
  }

  list(): ServedModel[] {
    return [...this.served.values()];
  }

  /**
   * Loads (or reloads) `name` at the alias; returns whether the served version changed. Loads of
   * one model run one after another, so a poll and an admin move never race.
   */
  async refresh(name: string): Promise<boolean> {
    const before = this.loading.get(name) ?? Promise.resolve(false);
    const next = before.catch(() => false).then(() => this.load(name));
    this.loading.set(name, next);
    try {
      return await next;
    } finally {
      if (this.loading.get(name) === next) this.loading.delete(name);
    }
  }

  private async load(name: string): Promise<boolean> {
    const version = await this.metadata.resolveAlias(name, this.alias);
    const current = this.served.get(name);
    if (!version || current?.version === version.version) return false;
    // Bundles are immutable: one that failed its checks fails them again, so it is not retried.
    if (this.refused.get(name) === version.version) return false;
    let bundle: Bundle;
    try {
      bundle = decodeBundle(await this.artifacts.get(version.bundleHash), `${name} v${version.version}`);
      selfCheck(bundle);
    } catch (e) {
      const code = (e as NetwardenError).code;
      if (code === "NW_MODEL_FORMAT" || code === "NW_STORE_CORRUPT") this.refused.set(name, version.version);
      throw e;
    }
    const next: ServedModel = { name, version: version.version, bundle, loadedAt: new Date().toISOString() };
    this.served.set(name, next);
    this.events.onLoad?.(next, current?.version);
    return true;
  }

  /** Loads every model in `names`, or every registered model that has the alias. */
  async loadAll(names?: readonly string[]): Promise<void> {
    const targets =
      names ?? (await this.metadata.listModels()).filter((m) => this.alias in m.aliases).map((m) => m.name);
    for (const name of targets) {
      try {
        await this.refresh(name);
      } catch (e) {
        if (e instanceof NetwardenError) this.events.onError?.(name, e);
        else throw e;
      }
    }
  }

  /** Re-reads aliases every `ms`; errors are reported and the current model keeps serving. */
  startPolling(ms: number, names?: readonly string[]): void {
    this.stopPolling();
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = this.loadAll(names).finally(() => {
        this.polling = undefined;
      });
    }, ms);
    this.timer.unref();
  }

  async stopPolling(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }
}

/** Scores a row of typical values; a bundle whose model cannot produce probabilities is refused. */
function selfCheck(bundle: Bundle): void {
  const record: Record<string, string | number> = {};
  for (const input of bundle.manifest.inputs) {
    const v = input.allowed?.[0];
    record[input.name] = v ?? (input.type === "categorical" ? "" : (input.min ?? 0));
  }
  const [p] = bundle.predictTable(bundle.recordsToTable([record]));
  const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
  if (!Number.isFinite(sum) || Math.abs(sum - 1) > 1e-6) {
    throw new NetwardenError(
      "NW_MODEL_FORMAT",
      `${bundle.manifest.name} fails its self-check (probabilities sum to ${sum})`,
      {
        hint: "The bundle is damaged; it was not loaded and the previous version keeps serving",
      },
    );
  }
}
