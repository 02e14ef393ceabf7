import * as mm from "@mmlab/mm-core";
import { Sim } from "@mmlab/sched";

// What exec left (the start of `setarch -R cat`'s /proc/PID/maps on Linux 6.18), then
// what ld.so does with libc, replayed on a 6.18-rules address space.
const START = `\
555555554000-555555556000 r--p 00000000 fe:00 260131                     /usr/bin/cat
555555556000-55555555b000 r-xp 00002000 fe:00 260131                     /usr/bin/cat
55555555b000-55555555e000 r--p 00007000 fe:00 260131                     /usr/bin/cat
55555555e000-555555560000 rw-p 00009000 fe:00 260131                     /usr/bin/cat
7ffff7fc2000-7ffff7fc6000 r--p 00000000 00:00 0                          [vvar]
7ffff7fc6000-7ffff7fc8000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]
7ffff7fca000-7ffff7fcb000 r--p 00000000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7fcb000-7ffff7ff1000 r-xp 00001000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ff1000-7ffff7ffb000 r--p 00027000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ffb000-7ffff7fff000 rw-p 00031000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;
const sim = new Sim({ seed: 1 });
const space = new mm.MmStruct(sim, { generation: "v6.18", mmapMinAddr: 4096 });
space.loadLayout(mm.parseProcPidMaps(START));
const libc = { path: "/usr/lib/x86_64-linux-gnu/libc.so.6", ino: 339380, dev: mm.makedev(0xfe, 0) };
space.installFile(3, { ...libc, size: 1926232, readable: true, writable: false });
const { PROT_READ: R, PROT_WRITE: W, PROT_EXEC: X, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS } = mm;
sim.spawn("ld.so", function* () {
  const base = yield* mm.sysMmap(space, 0, 1974096, R, MAP_PRIVATE, 3, 0);
  yield* mm.sysMmap(space, base + 0x26000, 1400832, R | X, MAP_PRIVATE | MAP_FIXED, 3, 0x26000);
  yield* mm.sysMmap(space, base + 0x17c000, 339968, R, MAP_PRIVATE | MAP_FIXED, 3, 0x17c000);
  yield* mm.sysMmap(space, base + 0x1cf000, 24576, R | W, MAP_PRIVATE | MAP_FIXED, 3, 0x1cf000);
  yield* mm.sysMmap(space, base + 0x1d5000, 53072, R | W, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS);
  space.closeFd(3);
  yield* mm.sysMprotect(space, base + 0x1cf000, 16384, R); // RELRO
  console.log(
    `libc at 0x${base.toString(16)}, bad fd: ${mm.errnoName(yield* mm.sysMmap(space, 0, 4096, R, MAP_PRIVATE, 3, 0))}`,
  );
});
sim.run();
mm.validateMm(space);
process.stdout.write(mm.procPidMaps(space));
