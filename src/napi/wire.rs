//! Deliveries' way into JS values, and the tags `index.js` reads them by ([`wire_tags`]).
//!
//! A session batch is its JSON text as one string, and each long text a string of its own
//! (see `crate::agent::outbox` for the format); a terminal batch is a flat array of
//! `[more, tag, token, payload, …]`. Both name entries by [`Tag`] numbers.
//!
//! ASCII texts of [`EXTERNAL_MIN_BYTES`] or more become *external* strings where the engine
//! offers them (`node_api_create_external_string_latin1`: Node ≥ 20.4, Bun): the engine uses
//! our bytes in place, so the JS thread does not copy 8 MiB for an 8 MiB text. The function is
//! looked up at run time, so an engine without it still loads the addon and gets copies;
//! `SIDECAR_NO_EXTERNAL_STRINGS=1` forces copies.
//!
//! The garbage collector does not see memory outside its heap, so the bytes held by live
//! external strings are reported with `napi_adjust_external_memory` (their finalizers, which
//! may run inside a collection, only count down an atomic; the next report settles the
//! difference). Measured (400 MB in 2 MiB texts dropped by the app): peak RSS +70 MB on Node,
//! +30 MB on Bun. Below 1 MiB copies were as fast and used less memory on Node (the shared
//! harness's 64 KiB texts: peak RSS 70 MB copied, 177 MB external).

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::*;
use napi::sys::{napi_env, napi_status, napi_value};

use napi_derive::napi;

use crate::agent::outbox::{BatchText, LongText};
use crate::deliver::Tag;
use crate::process::exit_parts;
use crate::terminal::Chunk;
use crate::terminal::queue::Item;

/// Shorter texts are copied (see the module docs).
pub const EXTERNAL_MIN_BYTES: usize = 1024 * 1024;

// Per JS thread, i.e. per engine instance (the main thread and each worker have their own
// heap and collector).
thread_local! {
    /// Bytes held by this thread's external strings not finalized yet. Shared with the
    /// finalizers, which may run on another thread.
    static HELD: Arc<AtomicI64> = Arc::new(AtomicI64::new(0));
    /// What was last reported to this thread's engine.
    static REPORTED: Cell<i64> = const { Cell::new(0) };
}

/// The bytes behind one external string, and the counter they are held against.
struct External {
    bytes: Vec<u8>,
    held: Arc<AtomicI64>,
}

/// A batch on its way to JS: its JSON text (empty when there was nothing to send), or, when
/// it has long texts, an array of the JSON text followed by the long texts in order.
pub struct JsBatch(pub Option<BatchText>);

impl ToNapiValue for JsBatch {
    /// Never fails for lack of an engine string: a delivery that fails inside the
    /// threadsafe-function call would be a fatal exception in the app. A batch that cannot be
    /// made (the engine refused a string) becomes `"!<reason>"`, which JS reports.
    unsafe fn to_napi_value(env: napi_env, val: Self) -> Result<napi_value> {
        // SAFETY: napi-rs calls this on the JS thread with the current env.
        match unsafe { batch_value(env, val.0.unwrap_or_default()) } {
            Ok(v) => Ok(v),
            Err(e) => {
                tracing::error!(error = %e.reason, "a batch could not be handed to JS; its entries are lost");
                // SAFETY: as above.
                unsafe {
                    clear_pending_exception(env);
                    copied_string(env, format!("!{}", e.reason).as_bytes(), false)
                }
            }
        }
    }
}

/// The batch as JS values: its JSON text, or [text, ...long texts].
///
/// # Safety
/// `env` must be the current napi environment, on its JS thread.
unsafe fn batch_value(env: napi_env, batch: BatchText) -> Result<napi_value> {
    // Every value passed back in below was created in `env` during this call.
    // SAFETY: the function's contract.
    let text = unsafe { copied_string(env, &batch.json, batch.ascii)? };
    if batch.long.is_empty() {
        return Ok(text);
    }
    let mut array = std::ptr::null_mut();
    let len = batch.long.len() + 1;
    // SAFETY: as above.
    let status = unsafe { napi::sys::napi_create_array_with_length(env, len, &mut array) };
    check(status, "batch array")?;
    let set = |i: usize, v: napi_value| -> Result<()> {
        let i = u32::try_from(i).map_err(|_| Error::from_reason("batch too large"))?;
        // SAFETY: as above.
        let status = unsafe { napi::sys::napi_set_element(env, array, i, v) };
        check(status, "batch array")
    };
    set(0, text)?;
    for (i, t) in batch.long.into_iter().enumerate() {
        // SAFETY: as above.
        set(i + 1, unsafe { long_string(env, t)? })?;
    }
    Ok(array)
}

/// Clears an exception the engine may have left pending when it refused a value, so the
/// next napi call works.
///
/// # Safety
/// `env` must be the current napi environment, on its JS thread.
unsafe fn clear_pending_exception(env: napi_env) {
    let mut pending = false;
    // SAFETY: plain napi calls on the current env.
    unsafe {
        if napi::sys::napi_is_exception_pending(env, &mut pending) == napi::sys::Status::napi_ok
            && pending
        {
            let mut exception = std::ptr::null_mut();
            napi::sys::napi_get_and_clear_last_exception(env, &mut exception);
        }
    }
}

fn check(status: napi_status, what: &str) -> Result<()> {
    if status == napi::sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::from_reason(format!(
            "could not create the {what} ({status})"
        )))
    }
}

/// Makes a JS string of a copy of `bytes`: as Latin-1 when `ascii` (a plain copy, no UTF-8
/// decoding), else from UTF-8.
///
/// # Safety
/// `env` must be the current napi environment, on its JS thread.
unsafe fn copied_string(env: napi_env, bytes: &[u8], ascii: bool) -> Result<napi_value> {
    let mut out = std::ptr::null_mut();
    let len = isize::try_from(bytes.len()).map_err(|_| Error::from_reason("text too large"))?;
    let ptr = bytes.as_ptr().cast::<c_char>();
    // SAFETY: `ptr`/`len` describe `bytes`, which outlives the call; the engine copies them.
    // Pure-ASCII text is the same bytes in Latin-1; anything else is valid UTF-8 (runner text
    // checked by the parser, or serde_json output).
    let status = unsafe {
        if ascii {
            napi::sys::napi_create_string_latin1(env, ptr, len, &mut out)
        } else {
            napi::sys::napi_create_string_utf8(env, ptr, len, &mut out)
        }
    };
    check(status, "batch string")?;
    Ok(out)
}

/// `node_api_create_external_string_latin1`.
type CreateExternalLatin1 = unsafe extern "C" fn(
    env: napi_env,
    str: *const c_char,
    length: isize,
    finalize: Option<unsafe extern "C" fn(napi_env, *mut c_void, *mut c_void)>,
    finalize_hint: *mut c_void,
    result: *mut napi_value,
    copied: *mut bool,
) -> napi_status;

/// The engine's external Latin-1 string constructor, if it has one (looked up once).
fn create_external_latin1() -> Option<CreateExternalLatin1> {
    static FUNCTION: OnceLock<Option<CreateExternalLatin1>> = OnceLock::new();
    *FUNCTION.get_or_init(|| {
        if std::env::var_os("SIDECAR_NO_EXTERNAL_STRINGS").is_some() {
            return None;
        }
        let sym = host_symbol(c"node_api_create_external_string_latin1");
        if sym.is_null() {
            return None;
        }
        // SAFETY: `sym` is the address of the host's Node-API function of that name, whose C
        // signature is the one above (js_native_api.h); the fn pointer type matches it.
        Some(unsafe { std::mem::transmute::<*mut c_void, CreateExternalLatin1>(sym) })
    })
}

/// The address of the function `name` exported by the host process (`node`, `bun`), or null
/// when the host has no such symbol.
///
/// Unix: a global `dlsym` lookup. Windows: node.exe and bun.exe export Node-API from the
/// executable itself, so the symbol is looked up in the executable's module.
fn host_symbol(name: &std::ffi::CStr) -> *mut c_void {
    #[cfg(unix)]
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks the symbol up.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    #[cfg(windows)]
    let sym = {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        // SAFETY: a null module name asks for the executable's own module; the handle is not
        // reference-counted and stays valid for the life of the process.
        let exe = unsafe { GetModuleHandleW(std::ptr::null()) };
        if exe.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: `exe` is a loaded module and `name` is NUL-terminated; the call only looks
        // the export up.
        let proc = unsafe { GetProcAddress(exe, name.as_ptr().cast()) };
        proc.map_or(std::ptr::null_mut(), |f| f as *mut c_void)
    };
    sym
}

/// Frees the bytes behind an external string once the engine is done with it.
///
/// # Safety
/// `hint` must come from `Box::into_raw(Box<External>)` in [`long_string`] and be passed here
/// once (the engine calls a finalizer exactly once).
unsafe extern "C" fn free_bytes(_env: napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: see the function's contract.
    let external = unsafe { Box::from_raw(hint.cast::<External>()) };
    external
        .held
        .fetch_sub(size_of_bytes(&external.bytes), Ordering::Relaxed);
}

fn size_of_bytes(bytes: &[u8]) -> i64 {
    i64::try_from(bytes.len()).unwrap_or(i64::MAX)
}

/// Tells this thread's engine how much memory its live external strings hold now.
///
/// # Safety
/// `env` must be the current napi environment, on its JS thread.
unsafe fn report_external_memory(env: napi_env) {
    let now = HELD.with(|h| h.load(Ordering::Relaxed));
    let delta = now - REPORTED.replace(now);
    if delta != 0 {
        let mut total = 0;
        // SAFETY: a plain napi call on the current env. Best effort: on failure the engine
        // only knows less than there is.
        unsafe { napi::sys::napi_adjust_external_memory(env, delta, &mut total) };
    }
}

/// Makes the JS string of one long text: external (no copy) when it is ASCII, long enough
/// and the engine can, else a copy.
///
/// # Safety
/// `env` must be the current napi environment, on its JS thread.
unsafe fn long_string(env: napi_env, text: LongText) -> Result<napi_value> {
    let external = text.ascii && text.bytes.len() >= EXTERNAL_MIN_BYTES;
    let Some(create) = create_external_latin1().filter(|_| external) else {
        // SAFETY: forwarded contract.
        return unsafe { copied_string(env, &text.bytes, text.ascii) };
    };
    let len =
        isize::try_from(text.bytes.len()).map_err(|_| Error::from_reason("text too large"))?;
    // The Vec's heap buffer does not move when the Vec (or its Box) does.
    let data = text.bytes.as_ptr().cast::<c_char>();
    let size = size_of_bytes(&text.bytes);
    let held = HELD.with(Arc::clone);
    // Counted before the call: when the engine copies, it runs the finalizer inside it.
    held.fetch_add(size, Ordering::Relaxed);
    let hint = Box::into_raw(Box::new(External {
        bytes: text.bytes,
        held,
    }));
    let mut out = std::ptr::null_mut();
    let mut copied = false;
    // SAFETY: `data`/`len` describe the bytes owned by `hint`, which stay alive and unchanged
    // until `free_bytes` runs: the engine calls it when the string is collected, or before
    // returning when it copied the bytes instead. ASCII bytes are valid Latin-1.
    let status = unsafe {
        create(
            env,
            data,
            len,
            Some(free_bytes),
            hint.cast(),
            &mut out,
            &mut copied,
        )
    };
    if status != napi::sys::Status::napi_ok {
        // On failure the finalizer is not called: the bytes are still ours.
        // SAFETY: `hint` came from Box::into_raw above and was not handed over.
        let external = unsafe { Box::from_raw(hint) };
        external.held.fetch_sub(size, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        return unsafe { copied_string(env, &external.bytes, true) };
    }
    tracing::trace!(copied, len, "long text handed to JS as an external string");
    // SAFETY: forwarded contract.
    unsafe { report_external_memory(env) };
    Ok(out)
}

/// The tag numbers of deliveries by name (`messages`, `status`, `lifecycle`, `removed`,
/// `sampled`, `output`, `idle`, `exit`, `failed`): `index.js` reads them once at load and
/// never spells a tag itself.
#[napi]
pub fn wire_tags() -> HashMap<String, u32> {
    Tag::ALL
        .iter()
        .map(|t| (t.name().to_owned(), u32::from(t.code())))
        .collect()
}

/// Terminal events on their way to JS: a flat array `[more, tag, token, payload, …]` (see
/// [`Tag`]): output (string or Buffer), idle (boolean), exit (`[code, signal,
/// limitError]`), failed to start (message), lifecycle event (JSON text).
pub struct JsTerminalBatch(pub Vec<Item>, pub bool);

impl ToNapiValue for JsTerminalBatch {
    unsafe fn to_napi_value(env: napi_env, val: Self) -> Result<napi_value> {
        let env = Env::from_raw(env);
        let mut out = env.create_array(0)?;
        out.insert(val.1)?;
        for item in val.0 {
            match item {
                Item::Data { token, chunk } => {
                    out.insert(Tag::Output.code())?;
                    out.insert(token as f64)?;
                    match chunk {
                        Chunk::Text(t) => out.insert(t)?,
                        Chunk::Bytes(b) => out.insert(Buffer::from(b))?,
                    }
                }
                Item::Idle { token, idle } => {
                    out.insert(Tag::Idle.code())?;
                    out.insert(token as f64)?;
                    out.insert(idle)?;
                }
                Item::Exit { token, kind, error } => {
                    let (code, signal) = exit_parts(Some(kind));
                    out.insert(Tag::Exit.code())?;
                    out.insert(token as f64)?;
                    let mut exit = env.create_array(3)?;
                    // Exit codes fit in 33 bits (Windows: u32), so the conversion is exact.
                    exit.set(0, code.map(|c| c as f64))?;
                    exit.set(1, signal)?;
                    exit.set(2, error)?;
                    out.insert(exit)?;
                }
                Item::Failed { token, error } => {
                    out.insert(Tag::Failed.code())?;
                    out.insert(token as f64)?;
                    out.insert(error)?;
                }
                Item::Lifecycle { token, json } => {
                    out.insert(Tag::Lifecycle.code())?;
                    out.insert(token as f64)?;
                    out.insert(json)?;
                }
            }
        }
        // SAFETY: `out` was created in this env during this call.
        unsafe { Array::to_napi_value(env.raw(), out) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_has_its_own_name_and_number() {
        let tags = wire_tags();
        assert_eq!(tags.len(), Tag::ALL.len());
        let mut codes: Vec<u32> = tags.values().copied().collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Tag::ALL.len(), "{tags:?}");
        assert_eq!(tags.get("messages"), Some(&0));
    }

    #[test]
    fn host_symbol_is_null_for_a_name_the_host_does_not_export() {
        assert!(host_symbol(c"sidecar_native_no_such_symbol").is_null());
    }
}
