/** Where the CLI writes; tests pass buffers, the binary passes the process streams. */
export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user interrupts (SIGINT/SIGTERM); long-running commands (serve) wait on it. */
  interrupted: Promise<void>;
}

export function processIo(): Io {
  const interrupted = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    interrupted,
  };
}

export class BufferIo implements Io {
  out = "";
  err = "";
  env: NodeJS.ProcessEnv;
  cwd: string;
  interrupted: Promise<void>;
  interrupt!: () => void;
  stdout = { write: (s: string) => (this.out += s) };
  stderr = { write: (s: string) => (this.err += s), isTTY: false };
  constructor(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()) {
    this.env = env;
    this.cwd = cwd;
    this.interrupted = new Promise((resolve) => (this.interrupt = resolve));
  }
}
