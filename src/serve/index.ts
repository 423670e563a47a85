export { type HolderEvents, ModelHolder, type ServedModel } from "./holder.js";
export { createServer, type NetwardenServer, type ServerOptions } from "./server.js";
