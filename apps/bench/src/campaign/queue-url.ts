/**
 * The `--queue redis://HOST:PORT[/PREFIX]` value, parsed without loading BullMQ or ioredis
 * (queue.ts), which only the commands that reach a queue import.
 */
import { UsageError } from "../params.js";

export interface QueueUrl {
  /** as given, without a password (for messages) */
  text: string;
  host: string;
  port: number;
  password?: string;
  /** BullMQ key prefix (default "mmlab") */
  prefix: string;
}

/** Bad input, like a UsageError, but printed without the usage hint: "cannot reach ...". */
export class QueueUnreachableError extends Error {}

/** redis://HOST:PORT[/PREFIX]; UsageError (exit 2) otherwise. */
export function parseQueueUrl(text: string): QueueUrl {
  const bad = (why: string) =>
    new UsageError(`invalid --queue "${text}" (${why}; expected redis://HOST:PORT[/PREFIX])`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad("not a URL");
  }
  if (url.protocol !== "redis:") throw bad(`protocol ${url.protocol} is not redis:`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw bad("no host");
  const port = url.port === "" ? 6379 : Number(url.port);
  const path = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (path !== "" && !/^[A-Za-z0-9._-]+$/.test(path)) {
    throw bad(`prefix "${path}" may only use letters, digits, '.', '_' and '-'`);
  }
  if (url.search !== "" || url.hash !== "") throw bad("no query or fragment allowed");
  const q: QueueUrl = {
    text: `redis://${url.host}${url.pathname === "/" ? "" : url.pathname}`,
    host,
    port,
    prefix: path === "" ? "mmlab" : path,
  };
  if (url.password !== "") q.password = decodeURIComponent(url.password);
  return q;
}
