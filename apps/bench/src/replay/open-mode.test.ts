import { describe, expect, it } from "vitest";
import { inferOpenMode } from "./open-mode.js";
import { parseStrace } from "./strace.js";
import { decodeLog } from "./syscalls.js";

/** The mode of fd 3 (/f) in pid 7's log `lines`, from its first line on. */
function modeOf(...lines: string[]) {
  const calls = decodeLog(parseStrace(lines.join("\n"), "m.strace"));
  return inferOpenMode(calls, 0, 3, "/f", (pid) => pid === 7);
}

const SHARED_RW = "7  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3</f>, 0)";
const SHARED_RO = "7  mmap(NULL, 8192, PROT_READ, MAP_SHARED, 3</f>, 0)";
const PRIVATE = "7  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3</f>, 0)";

describe("inferOpenMode: an fd's open mode from the recorded results", () => {
  it("a writable MAP_SHARED mapping that succeeded: read-write", () => {
    expect(modeOf(`${SHARED_RW} = 0x7000`)).toEqual({
      readable: true,
      writable: true,
      line: 1,
      reason: "a writable MAP_SHARED mapping of it succeeded",
    });
  });

  it("a writable MAP_SHARED mapping refused with EACCES: read-only", () => {
    expect(modeOf(`${SHARED_RW} = -1 EACCES (Permission denied)`)).toMatchObject({
      readable: true,
      writable: false,
      line: 1,
    });
  });

  it("MAP_SHARED_VALIDATE counts as shared", () => {
    const m = modeOf(
      "7  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED_VALIDATE, 3</f>, 0) = 0x7000",
    );
    expect(m).toMatchObject({ readable: true, writable: true });
  });

  it("a read-only MAP_SHARED mapping decides nothing until an mprotect(PROT_WRITE) of it", () => {
    expect(
      modeOf(`${SHARED_RO} = 0x7000`, "7  mprotect(0x7000, 4096, PROT_READ|PROT_WRITE) = 0"),
    ).toEqual({
      readable: true,
      writable: true,
      line: 2,
      reason: "mprotect(PROT_WRITE) of its MAP_SHARED mapping succeeded",
    });
    expect(
      modeOf(
        `${SHARED_RO} = 0x7000`,
        "7  mprotect(0x6000, 8192, PROT_READ|PROT_WRITE) = -1 EACCES (Permission denied)",
      ),
    ).toMatchObject({ writable: false, line: 2 });
    // another process's mprotect, one outside the mapping, or one after it was unmapped: nothing
    expect(
      modeOf(
        `${SHARED_RO} = 0x7000`,
        "8  mprotect(0x7000, 4096, PROT_READ|PROT_WRITE) = 0",
        "7  mprotect(0x9000, 4096, PROT_READ|PROT_WRITE) = 0",
        "7  munmap(0x7000, 8192) = 0",
        "7  mprotect(0x7000, 4096, PROT_READ|PROT_WRITE) = 0",
      ),
    ).toMatchObject({ readable: true, writable: false, line: null });
  });

  it("any mapping refused with EACCES other than a writable shared one: not readable", () => {
    expect(modeOf(`${PRIVATE} = -1 EACCES (Permission denied)`)).toMatchObject({
      readable: false,
      writable: true,
      line: 1,
    });
  });

  it("private mappings and other errors decide nothing: read-only", () => {
    expect(
      modeOf(
        `${PRIVATE} = 0x7000`,
        "7  mmap(NULL, 0, PROT_READ, MAP_SHARED, 3</f>, 0) = -1 EINVAL (Invalid argument)",
      ),
    ).toEqual({
      readable: true,
      writable: false,
      line: null,
      reason: "no recorded result depends on it",
    });
  });

  it("stops at a mapping of the same fd number with another path (a new open file)", () => {
    expect(
      modeOf(
        `${PRIVATE} = 0x7000`,
        "7  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3</g>, 0) = 0x9000",
        `${SHARED_RW} = 0xb000`,
      ),
    ).toMatchObject({ writable: false, line: null });
  });

  it("looks only at the fd's own process", () => {
    expect(
      modeOf(`8  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 3</f>, 0) = 0x7000`),
    ).toMatchObject({
      writable: false,
      line: null,
    });
  });
});
