//! The WASI preview1 error numbers the host's own functions answer with.

pub const SUCCESS: i32 = 0;
pub const EFAULT: i32 = 21;
pub const EINVAL: i32 = 28;
pub const EMFILE: i32 = 33;
pub const ENOSPC: i32 = 51;
