//! The one import, `host.call`, and the allocator the host fills replies
//! into. Off wasm32 there is no host: every call is a `Fault(-1)`, so the
//! crate still builds (and type-checks) with the rest of the workspace.

use serde_json::Value;

use crate::Error;

/// Send `request` and return the reply's `ok` value.
pub fn call(request: &Value) -> Result<Value, Error> {
    let request = serde_json::to_vec(request)?;
    let reply: Value = serde_json::from_slice(&raw_call(&request)?)?;
    match reply {
        Value::Object(mut fields) => {
            if let Some(error) = fields.remove("error") {
                let text = |name: &str| error[name].as_str().unwrap_or_default().to_owned();
                return Err(Error::Host {
                    code: text("code"),
                    message: text("message"),
                });
            }
            Ok(fields.remove("ok").unwrap_or(Value::Null))
        }
        _ => Ok(Value::Null),
    }
}

/// A buffer of `len` bytes for a reply, owned by [`raw_call`] once the host
/// has filled it.
pub fn host_alloc(len: i32) -> i32 {
    let buffer = vec![0u8; len.max(0) as usize].into_boxed_slice();
    Box::into_raw(buffer).cast::<u8>() as usize as i32
}

#[cfg(target_arch = "wasm32")]
fn raw_call(request: &[u8]) -> Result<Vec<u8>, Error> {
    #[link(wasm_import_module = "host")]
    unsafe extern "C" {
        fn call(
            req_ptr: *const u8,
            req_len: usize,
            out_ptr: *mut *mut u8,
            out_len: *mut usize,
        ) -> i32;
    }
    let mut out_ptr = std::ptr::null_mut();
    let mut out_len = 0;
    // SAFETY: the host reads `request` and writes the two out-parameters;
    // on success `out_ptr` came from `host_alloc(out_len)`.
    let code = unsafe { call(request.as_ptr(), request.len(), &mut out_ptr, &mut out_len) };
    if code != 0 {
        return Err(Error::Fault(code));
    }
    // SAFETY: `host_alloc` leaked exactly this boxed slice.
    let reply = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(out_ptr, out_len)) };
    Ok(reply.into_vec())
}

#[cfg(not(target_arch = "wasm32"))]
fn raw_call(_request: &[u8]) -> Result<Vec<u8>, Error> {
    Err(Error::Fault(-1))
}
