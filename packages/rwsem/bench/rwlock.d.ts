/** Local types for the rwlock 5.0.0 peer (it ships none); only what bench/peers.ts uses. */
declare module "rwlock" {
  type Release = () => void;
  interface LockOptions {
    timeout?: number;
    timeoutCallback?: () => void;
  }
  class ReadWriteLock {
    readLock(cb: (release: Release) => void, opts?: LockOptions): void;
    writeLock(cb: (release: Release) => void, opts?: LockOptions): void;
  }
  export = ReadWriteLock;
}
