/**
 * The files a process can map: its fd table (include/linux/fdtable.h struct files_struct),
 * the open file descriptions the fds point to (struct file), and the inodes behind them
 * (struct inode, one per (dev, ino)).
 *
 *   fd 3 ──┐                       ┌── MappedFile (struct file #1) ──┐
 *   fd 4 ──┴─ dup() shares it ─────┘                                 ├── FileInode (dev fe:00, ino 339380)
 *   fd 5 ── a second open() ───────── MappedFile (struct file #2) ──┘
 *
 * What a VMA points to (vma->vm_file) is the struct file, and is_mergeable_vma() compares
 * that pointer: two VMAs of the same inode mapped through two separate open()s never merge,
 * while a dup()ed fd maps the same struct file and does merge (checked on Linux 6.18: three
 * adjacent pages of one file mapped through fd1, dup(fd1), and a second open() show as
 * [fd1 + dup] merged and [second open] apart). So a MappedFile is created per installFile(),
 * shared by dupFd(), and carries the per-(dev, ino) FileInode that /proc/PID/maps prints.
 */
import type { VmFile } from "@mmlab/vma-tree";

/** What the importer knows about an open file: strace's `-y` path, stat's identity, open mode. */
export interface OpenFile {
  /** The path /proc/PID/maps prints (d_path of the file). */
  path: string;
  /** st_ino. */
  ino: number;
  /** st_dev in glibc's encoding (see {@link makedev}); default 0 ("00:00"). */
  dev?: number;
  /** i_size in bytes: a fault at or beyond the page holding EOF raises SIGBUS. */
  size: number;
  /** Opened for reading (FMODE_READ: O_RDONLY or O_RDWR). */
  readable: boolean;
  /** Opened for writing (FMODE_WRITE: O_WRONLY or O_RDWR). */
  writable: boolean;
}

/** struct inode, the part mm needs: one per (dev, ino) of a {@link FileRegistry}. */
export interface FileInode {
  readonly dev: number;
  readonly ino: number;
  /** i_size in bytes. */
  size: number;
}

/**
 * struct file: one open file description, the object vma->vm_file points to and merging
 * compares by identity. `path` and `ino` make it a VmFile of @mmlab/vma-tree.
 */
export interface MappedFile extends VmFile {
  readonly path: string;
  readonly ino: number;
  readonly dev: number;
  readonly inode: FileInode;
  /** FMODE_READ. */
  readonly readable: boolean;
  /** FMODE_WRITE. */
  readonly writable: boolean;
}

/**
 * True for a file of a regular filesystem (a MappedFile: ext4, xfs, btrfs, whose
 * f_op->get_unmapped_area is thp_get_unmapped_area), false for shmem's "/dev/zero (deleted)".
 */
export function isRegularFile(file: VmFile): boolean {
  return (file as Partial<MappedFile>).inode !== undefined;
}

/** The inodes of a system, one object per (dev, ino); share one between processes. */
export class FileRegistry {
  private readonly inodes = new Map<string, FileInode>();

  /** iget(): the inode of (dev, ino), created on first use; a larger size updates i_size. */
  inode(dev: number, ino: number, size: number): FileInode {
    const key = `${dev}:${ino}`;
    let inode = this.inodes.get(key);
    if (inode === undefined) {
      inode = { dev, ino, size };
      this.inodes.set(key, inode);
    } else if (size !== inode.size) {
      inode.size = size;
    }
    return inode;
  }

  /** The number of inodes known. */
  get size(): number {
    return this.inodes.size;
  }
}

/** The largest fd the table accepts (sysctl fs.nr_open default, 1 << 20). */
export const NR_OPEN = 1 << 20;

/** struct files_struct: fd → struct file. */
export class FdTable {
  readonly registry: FileRegistry;
  private readonly fds = new Map<number, MappedFile>();

  constructor(registry: FileRegistry = new FileRegistry()) {
    this.registry = registry;
  }

  /**
   * fd_install() after an open(): `fd` now names a NEW open file description of `file`
   * (replacing whatever fd named before, as dup2 onto an open fd would). Returns it.
   */
  install(fd: number, file: OpenFile): MappedFile {
    checkFd(fd, "installFile");
    const mapped = this.openDetached(file);
    this.fds.set(fd, mapped);
    return mapped;
  }

  /**
   * fs/file.c: dup_fd() — fork's copy of the fd table: every fd of `other` names the same open
   * file description here (mappings of either merge), replacing what this table held.
   */
  copyFrom(other: FdTable): void {
    this.fds.clear();
    for (const [fd, f] of other.fds) this.fds.set(fd, f);
  }

  /** A new open file description not (or no longer) installed at any fd, as exec's mappings. */
  openDetached(file: OpenFile): MappedFile {
    if (typeof file !== "object" || file === null || typeof file.path !== "string") {
      throw new TypeError("@mmlab/mm-core: installFile: file must be an OpenFile");
    }
    const dev = file.dev ?? 0;
    if (!Number.isSafeInteger(file.ino) || file.ino < 0) {
      throw new RangeError(
        `@mmlab/mm-core: installFile: ino ${file.ino} is not a non-negative integer`,
      );
    }
    if (!Number.isSafeInteger(dev) || dev < 0) {
      throw new RangeError(`@mmlab/mm-core: installFile: dev ${dev} is not a non-negative integer`);
    }
    if (!Number.isSafeInteger(file.size) || file.size < 0) {
      throw new RangeError(
        `@mmlab/mm-core: installFile: size ${file.size} is not a non-negative integer`,
      );
    }
    const inode = this.registry.inode(dev, file.ino, file.size);
    return {
      path: file.path,
      ino: file.ino,
      dev,
      inode,
      readable: file.readable === true,
      writable: file.writable === true,
    };
  }

  /** dup2(oldfd, newfd): newfd shares oldfd's open file description. 0 or -EBADF. */
  dup(oldfd: number, newfd: number): number {
    checkFd(newfd, "dupFd");
    const f = this.fds.get(oldfd);
    if (f === undefined) return -9; // -EBADF
    this.fds.set(newfd, f);
    return 0;
  }

  /** close(fd): 0 or -EBADF. Mappings keep their reference to the file (get_file()). */
  close(fd: number): number {
    return this.fds.delete(fd) ? 0 : -9; // -EBADF
  }

  /** fget(fd): the open file description, or null (the callers turn it into -EBADF). */
  get(fd: number): MappedFile | null {
    return this.fds.get(fd) ?? null;
  }

  /** The fds in use, ascending. */
  fdsInUse(): number[] {
    return [...this.fds.keys()].sort((a, b) => a - b);
  }
}

function checkFd(fd: number, what: string): void {
  if (!Number.isInteger(fd) || fd < 0 || fd >= NR_OPEN) {
    throw new RangeError(`@mmlab/mm-core: ${what}: fd ${fd} is not in [0, ${NR_OPEN})`);
  }
}

/** glibc's makedev() (sys/sysmacros.h): st_dev from a major and minor number. */
export function makedev(major: number, minor: number): number {
  return (
    (minor & 0xff) +
    (major & 0xfff) * 0x100 +
    Math.floor(minor / 0x100) * 0x100000 +
    Math.floor(major / 0x1000) * 0x100000000
  );
}

/** glibc's major(): the major number of an st_dev. */
export function major(dev: number): number {
  return (Math.floor(dev / 0x100) & 0xfff) + Math.floor(dev / 0x100000000) * 0x1000;
}

/** glibc's minor(): the minor number of an st_dev. */
export function minor(dev: number): number {
  return (dev & 0xff) + (Math.floor(dev / 0x1000) & 0xfff00);
}
