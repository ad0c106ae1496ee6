//! Bounds-checked access to a guest's linear memory from host functions.
//! Every pointer and length comes from untrusted code: a bad one is an
//! `EFAULT` for the guest, never a host panic.

use wasmtime::{Caller, Memory};

use super::wasi::errno::EFAULT;

pub fn memory<T>(caller: &mut Caller<'_, T>) -> Result<Memory, i32> {
    caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or(EFAULT)
}

/// `len` bytes at guest address `ptr`.
pub fn slice(data: &[u8], ptr: i32, len: usize) -> Result<&[u8], i32> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len).ok_or(EFAULT)?;
    data.get(start..end).ok_or(EFAULT)
}

pub fn slice_mut(data: &mut [u8], ptr: i32, len: usize) -> Result<&mut [u8], i32> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len).ok_or(EFAULT)?;
    data.get_mut(start..end).ok_or(EFAULT)
}

pub fn read_u32(data: &[u8], ptr: i32) -> Result<u32, i32> {
    let bytes = slice(data, ptr, 4)?;
    Ok(u32::from_le_bytes(bytes.try_into().expect("four bytes")))
}

pub fn write_u32(data: &mut [u8], ptr: i32, value: u32) -> Result<(), i32> {
    slice_mut(data, ptr, 4)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}
