/**
 * User-space ABI constants for the syscall methods of {@link Process}: open flags, mmap
 * protection and flags, lseek whence. Values are Linux's (asm-generic).
 */
export { SEEK_SET, SEEK_CUR, SEEK_END } from "../../../sdk/index.js";

/** @public */ export const O_RDONLY = 0;
/** @public */ export const O_WRONLY = 1;
/** @public */ export const O_RDWR = 2;
/** @public */ export const O_ACCMODE = 3;
/** @public */ export const O_NONBLOCK = 0o4000;
/** @public */ export const O_CLOEXEC = 0o2000000;

/** @public */ export const PROT_NONE = 0;
/** @public */ export const PROT_READ = 1;
/** @public */ export const PROT_WRITE = 2;
/** @public */ export const PROT_EXEC = 4;

/** @public */ export const MAP_SHARED = 0x01;
/** @public */ export const MAP_PRIVATE = 0x02;
/** @public */ export const MAP_FIXED = 0x10;
/** @public */ export const MAP_ANONYMOUS = 0x20;
/** @public */ export const MAP_ANON = MAP_ANONYMOUS;

/** `vm_flags` bits not in the SDK (include/linux/mm.h). @internal */
export const VM_MAYEXEC = 0x40;
/** @internal */ export const VM_MAYSHARE = 0x80;

/** `FAULT_FLAG_WRITE`. @internal */
export const FAULT_FLAG_WRITE = 0x1;
