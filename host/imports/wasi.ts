/**
 * The WASI functions Envoy provides (proxy-wasm-cpp-host src/exports.cc
 * wasi_unstable_*), registered under wasi_snapshot_preview1 and wasi_unstable.
 * stdout/stderr go to the log (info/error, one trailing newline dropped),
 * clocks read the virtual clock, random_get reads the seeded PRNG, the
 * filesystem and sockets answer as Envoy does (mostly ENOSYS/ENOTSUP/BADF).
 * proc_exit traps (Envoy only logs it; the module then usually traps itself).
 */
import { WasiErrno } from "../abi.js";
import type { Vm } from "../vm.js";

const RANDOM_GET_MAX = 64 * 1024;

type WasiFn = (...args: never[]) => number | void;

export function wasiImports(vm: Vm, module: "wasi_snapshot_preview1" | "wasi_unstable"): Record<string, WasiFn> {
  const envoy = vm.envoy;
  const mem = () => vm.mem;
  const enter = (name: string): void => vm.enterHostCall(`${module}.${name}`);
  const stdio = (fd: number) => fd === 1 || fd === 2;

  /** writevImpl: gathers iovecs, logs stdout at info and stderr at error. */
  const writev = (fd: number, iovs: number, iovsLen: number): number | { written: number } => {
    const level = fd === 1 ? "info" : fd === 2 ? "error" : undefined;
    if (!level) return WasiErrno.BadF;
    const m = mem();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < iovsLen >>> 0; i++) {
      const base = (iovs >>> 0) + i * 8;
      const buf = m.readU32(base);
      const len = m.readU32(base + 4);
      if (buf === null || len === null) return WasiErrno.Fault;
      if (len === 0) continue;
      const s = m.copy(buf, len);
      if (s === null) return WasiErrno.Fault;
      parts.push(s);
      total += len;
    }
    if (total > 0) {
      let text = Buffer.concat(parts).toString("utf8");
      if (text.endsWith("\n")) text = text.slice(0, -1);
      vm.log(level, text);
    }
    return { written: total };
  };

  const badfUnlessStdio = (name: string) => (fd: number) => {
    enter(name);
    return stdio(fd) ? WasiErrno.Success : WasiErrno.BadF;
  };
  const constant = (name: string, errno: number) => () => {
    enter(name);
    return errno;
  };

  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) {
      enter("fd_write");
      const r = writev(fd, iovs, iovsLen);
      if (typeof r === "number") return r;
      return mem().writeU32(nwrittenPtr, r.written) ? WasiErrno.Success : WasiErrno.Fault;
    },
    fd_pwrite(fd: number, iovs: number, iovsLen: number, _offset: bigint, nwrittenPtr: number) {
      enter("fd_pwrite");
      if (!stdio(fd)) return WasiErrno.BadF;
      const r = writev(fd, iovs, iovsLen);
      if (typeof r === "number") return r;
      return mem().writeU32(nwrittenPtr, r.written) ? WasiErrno.Success : WasiErrno.Fault;
    },
    fd_read: constant("fd_read", WasiErrno.NoSys),
    fd_pread: constant("fd_pread", WasiErrno.NoSys),
    fd_seek: constant("fd_seek", WasiErrno.Success),
    fd_close: constant("fd_close", WasiErrno.Success),
    fd_fdstat_get(fd: number, statPtr: number) {
      enter("fd_fdstat_get");
      if (!stdio(fd)) return WasiErrno.BadF;
      // filetype/flags 0, rights_base FD_WRITE (64), rights_inheriting 0.
      const stat = new Uint8Array(24);
      stat[8] = 64;
      mem().write(statPtr, stat);
      return WasiErrno.Success;
    },
    fd_fdstat_set_flags: constant("fd_fdstat_set_flags", WasiErrno.NoSys),
    fd_fdstat_set_rights: badfUnlessStdio("fd_fdstat_set_rights"),
    fd_advise: constant("fd_advise", WasiErrno.Success),
    fd_allocate: badfUnlessStdio("fd_allocate"),
    fd_datasync: badfUnlessStdio("fd_datasync"),
    fd_sync: badfUnlessStdio("fd_sync"),
    fd_filestat_get: constant("fd_filestat_get", WasiErrno.BadF),
    fd_filestat_set_size: badfUnlessStdio("fd_filestat_set_size"),
    fd_filestat_set_times: badfUnlessStdio("fd_filestat_set_times"),
    fd_prestat_get: constant("fd_prestat_get", WasiErrno.BadF),
    fd_prestat_dir_name: constant("fd_prestat_dir_name", WasiErrno.NoSys),
    fd_readdir(_fd: number, _buf: number, _len: number, _cookie: bigint, nreadPtr: number) {
      enter("fd_readdir");
      if (!mem().writeU32(nreadPtr, 0)) return WasiErrno.Fault;
      return 20; // ENOTDIR
    },
    fd_renumber(fd: number, to: number) {
      enter("fd_renumber");
      return stdio(fd) && stdio(to) ? WasiErrno.NotSup : WasiErrno.BadF;
    },
    fd_tell(fd: number, offsetPtr: number) {
      enter("fd_tell");
      if (!stdio(fd)) return WasiErrno.BadF;
      return mem().writeU64(offsetPtr, 0n) ? WasiErrno.Success : WasiErrno.Fault;
    },
    path_open: constant("path_open", WasiErrno.NoEnt),
    path_create_directory: constant("path_create_directory", WasiErrno.NotSup),
    path_filestat_get: constant("path_filestat_get", WasiErrno.NotSup),
    path_filestat_set_times: constant("path_filestat_set_times", WasiErrno.NotSup),
    path_link: constant("path_link", WasiErrno.NotSup),
    path_readlink(_fd: number, _p: number, _pl: number, _buf: number, _bl: number, nPtr: number) {
      enter("path_readlink");
      if (!mem().writeU32(nPtr, 0)) return WasiErrno.Fault;
      return WasiErrno.NotSup;
    },
    path_remove_directory: constant("path_remove_directory", WasiErrno.NotSup),
    path_rename: constant("path_rename", WasiErrno.NotSup),
    path_symlink: constant("path_symlink", WasiErrno.NotSup),
    path_unlink_file: constant("path_unlink_file", WasiErrno.NotSup),
    sock_accept(_fd: number, _flags: number, fdPtr: number) {
      enter("sock_accept");
      if (!mem().writeU64(fdPtr, 0n)) return WasiErrno.Fault;
      return WasiErrno.NotSup;
    },
    sock_recv(_fd: number, _ri: number, _riLen: number, _flags: number, nPtr: number, flagsPtr: number) {
      enter("sock_recv");
      if (!mem().writeU32(nPtr, 0)) return WasiErrno.Fault;
      if (!mem().writeU16(flagsPtr, 0)) return WasiErrno.Fault;
      return WasiErrno.NotSup;
    },
    sock_send(_fd: number, _si: number, _siLen: number, _flags: number, nPtr: number) {
      enter("sock_send");
      if (!mem().writeU32(nPtr, 0)) return WasiErrno.Fault;
      return WasiErrno.NotSup;
    },
    sock_shutdown: constant("sock_shutdown", WasiErrno.NotSup),
    args_get: constant("args_get", WasiErrno.Success),
    args_sizes_get(argcPtr: number, bufSizePtr: number) {
      enter("args_sizes_get");
      return mem().writeU32(argcPtr, 0) && mem().writeU32(bufSizePtr, 0) ? WasiErrno.Success : WasiErrno.Fault;
    },
    environ_get: constant("environ_get", WasiErrno.Success),
    environ_sizes_get(countPtr: number, bufSizePtr: number) {
      enter("environ_sizes_get");
      return mem().writeU32(countPtr, 0) && mem().writeU32(bufSizePtr, 0) ? WasiErrno.Success : WasiErrno.Fault;
    },
    clock_time_get(clockId: number, _precision: bigint, timePtr: number) {
      enter("clock_time_get");
      let ns: bigint;
      if (clockId === 0) ns = envoy.nowNs();
      else if (clockId === 1) ns = envoy.monotonicNs();
      else return WasiErrno.NotSup;
      return mem().writeU64(timePtr, ns) ? WasiErrno.Success : WasiErrno.Fault;
    },
    clock_res_get(clockId: number, resPtr: number) {
      enter("clock_res_get");
      if (clockId !== 0 && clockId !== 1) return WasiErrno.NotSup;
      return mem().writeU64(resPtr, 1n) ? WasiErrno.Success : WasiErrno.Fault;
    },
    random_get(bufPtr: number, bufLen: number) {
      enter("random_get");
      const len = bufLen >>> 0;
      if (len > RANDOM_GET_MAX) return WasiErrno.Inval;
      if (len === 0) return WasiErrno.Success;
      const out = new Uint8Array(len);
      envoy.random.fill(out);
      return mem().write(bufPtr, out) ? WasiErrno.Success : WasiErrno.Fault;
    },
    sched_yield: constant("sched_yield", WasiErrno.Success),
    poll_oneoff(_in: number, _out: number, _n: number, neventsPtr: number) {
      enter("poll_oneoff");
      return mem().writeU32(neventsPtr, 0) ? WasiErrno.Success : WasiErrno.Fault;
    },
    proc_exit(code: number): void {
      enter("proc_exit");
      throw new Error(`wasi proc_exit(${code >>> 0})`);
    },
  };
}
