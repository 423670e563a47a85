import { InProcessJobQueue } from "./in-process.js";
import { RedisJobQueue } from "./redis-queue.js";
import type { JobHandlers, JobQueue } from "./types.js";

export interface OpenJobQueueOptions {
  /** Where REDIS_URL (and NETWARDEN_QUEUE) are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Jobs this process runs at once. */
  concurrency?: number;
  /**
   * With Redis: whether this process also works jobs (a worker) or only submits them (a server,
   * whose jobs run on `netwarden worker` processes). Without Redis jobs always run here.
   */
  work?: boolean;
}

/**
 * The job queue a process uses, chosen by environment variables only: BullMQ on Redis when
 * `REDIS_URL` is set (queue name `NETWARDEN_QUEUE`, default "netwarden"), in-process otherwise.
 * The same handlers run either way.
 */
export async function openJobQueue(
  handlers: JobHandlers,
  options: OpenJobQueueOptions = {},
): Promise<JobQueue> {
  const env = options.env ?? process.env;
  if (!env.REDIS_URL) return new InProcessJobQueue(handlers, { concurrency: options.concurrency });
  return RedisJobQueue.open({
    url: env.REDIS_URL,
    name: env.NETWARDEN_QUEUE || undefined,
    concurrency: options.concurrency,
    ...(options.work ? { handlers } : {}),
  });
}
