/**
 * Linux errno values (asm-generic/errno-base.h and errno.h). Kernel calls that return `int`
 * return `0` or a negative errno, exactly as in Linux: `return -EINVAL;`.
 */

/** @public */ export const EPERM = 1;
/** @public */ export const ENOENT = 2;
/** @public */ export const ESRCH = 3;
/** @public */ export const EINTR = 4;
/** @public */ export const EIO = 5;
/** @public */ export const ENXIO = 6;
/** @public */ export const E2BIG = 7;
/** @public */ export const EBADF = 9;
/** @public */ export const EAGAIN = 11;
/** @public */ export const ENOMEM = 12;
/** @public */ export const EACCES = 13;
/** @public */ export const EFAULT = 14;
/** @public */ export const EBUSY = 16;
/** @public */ export const EEXIST = 17;
/** @public */ export const ENODEV = 19;
/** @public */ export const EINVAL = 22;
/** @public */ export const ENFILE = 23;
/** @public */ export const EMFILE = 24;
/** @public */ export const ENOTTY = 25;
/** @public */ export const EFBIG = 27;
/** @public */ export const ENOSPC = 28;
/** @public */ export const ESPIPE = 29;
/** @public */ export const EPIPE = 32;
/** @public */ export const ERANGE = 34;
/** @public */ export const ENOSYS = 38;
/** @public */ export const EOVERFLOW = 75;
/** @public */ export const ENOTSUPP = 524;
/** @public */ export const EOPNOTSUPP = 95;
/** @public */ export const ETIMEDOUT = 110;
/** @public */ export const EPROBE_DEFER = 517;

const NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM", [ENOENT]: "ENOENT", [ESRCH]: "ESRCH", [EINTR]: "EINTR", [EIO]: "EIO",
  [ENXIO]: "ENXIO", [E2BIG]: "E2BIG", [EBADF]: "EBADF", [EAGAIN]: "EAGAIN", [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES", [EFAULT]: "EFAULT", [EBUSY]: "EBUSY", [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV", [EINVAL]: "EINVAL", [ENFILE]: "ENFILE", [EMFILE]: "EMFILE",
  [ENOTTY]: "ENOTTY", [EFBIG]: "EFBIG", [ENOSPC]: "ENOSPC", [ESPIPE]: "ESPIPE", [EPIPE]: "EPIPE",
  [ERANGE]: "ERANGE", [ENOSYS]: "ENOSYS", [EOVERFLOW]: "EOVERFLOW", [ENOTSUPP]: "ENOTSUPP",
  [EOPNOTSUPP]: "EOPNOTSUPP", [ETIMEDOUT]: "ETIMEDOUT", [EPROBE_DEFER]: "EPROBE_DEFER",
};

/**
 * The symbolic name of an errno, accepting the negative form a kernel call returns:
 * `errname(-22) === "EINVAL"`. Unknown values print as the number.
 * @public
 */
export function errname(err: number): string {
  const n = Math.abs(err);
  return NAMES[n] ?? String(n);
}

/** True when an `int`-returning kernel call failed (`ret < 0`). @public */
export function isErr(ret: number): boolean {
  return ret < 0;
}
