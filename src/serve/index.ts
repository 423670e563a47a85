export { type CreatedKey, createApiKey, KeyRing, type KeyRole } from "./auth.js";
export { type HolderEvents, ModelHolder, type ServedModel } from "./holder.js";
export { ServerMetrics } from "./metrics.js";
export { createServer, type NetwardenServer, type ServeConfig, type ServerOptions } from "./server.js";
