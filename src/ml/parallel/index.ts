export { arrayBuffer, type ShareableArray, sharedCopy } from "./memory.js";
export { defaultThreads, resolveThreads, runtimeModuleUrl, sharedPool, WorkerPool } from "./pool.js";
export {
  awaitTeam,
  failTeam,
  finishTeamTask,
  followTeam,
  TEAM_ARGS,
  TEAM_CTRL_SLOTS,
  TEAM_EXIT,
  TeamLeader,
  teamControl,
} from "./team.js";
