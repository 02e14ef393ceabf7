/**
 * A real redis-server (Debian's package) for the queue tests: its own free loopback port and
 * temporary directory, persistence spelled out (append-only file, fsync on every write, no
 * RDB snapshots, so a restart finds exactly what was written), stopped and removed after.
 * `redisServerPath()` is null when the binary is missing: the tests skip locally, and fail in
 * CI (CI=true), where .ci/run installs the package.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function redisServerPath(): string | null {
  for (const p of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    if (existsSync(p)) return p;
  }
  const which = spawnSync("which", ["redis-server"], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() || null : null;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.on("connect", () => {
      c.end();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}

export class RedisServer {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly bin: string,
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(bin: string): Promise<RedisServer> {
    const s = new RedisServer(bin, await freePort(), mkdtempSync(join(tmpdir(), "mmlab-redis-")));
    await s.resume();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port and directory; resolves once it accepts connections. */
  async resume(): Promise<void> {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--daemonize",
      "no",
      "--logfile",
      join(this.dir, "redis.log"),
    ];
    const proc = spawn(this.bin, args, { stdio: "ignore" });
    this.proc = proc;
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("redis-server did not start within 5 s");
  }

  /** SIGTERM (redis-server shuts down cleanly, the AOF flushed) and waits for the exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (proc === null || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
