//! The one callback policy, decided once: every JS function the addon calls from another
//! thread is a [`JsCallback`] — a *weak*, not-callee-handled threadsafe function that takes
//! no arguments from Rust and, on the JS thread, hands JS the value its maker builds then
//! (a delivery drained at that moment, so the threadsafe function's queue never holds data).
//!
//! - Weak: it never keeps the event loop alive by itself; the JS wrapper holds a ref'd
//!   handle exactly while runner processes or terminals are alive.
//! - Not callee-handled, and never fatal: the wrapper catches every exception thrown by user
//!   callbacks, so nothing thrown can reach `napi_fatal_exception`.
//! - Released with its owner: the [`Waker`] holding it is dropped when the queue it wakes is
//!   closed (dispose, or the env's cleanup hook of a worker).
//!
//! Rust → TS: a `JsCallback<T>` is typed in `binding.d.ts` by the `ts_args_type` of the
//! constructor that takes it, as `(value: <T as JS>) => void`.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::deliver::Waker;

/// A JS function called from Rust threads with the value `T` built on the JS thread (see the
/// module docs for its policy).
pub type JsCallback<T> = ThreadsafeFunction<(), (), T, Status, false, true>;

/// Wraps `f` as a [`JsCallback`] whose value `make` builds on the JS thread, and returns the
/// [`Waker`] that schedules one call (`what` names it in the log if scheduling fails).
pub fn waker<Args, T>(
    f: Function<'_, Args, ()>,
    what: &'static str,
    make: impl Fn() -> T + Send + Sync + 'static,
) -> Result<Waker>
where
    Args: JsValuesTupleIntoVec + 'static,
    T: ToNapiValue + 'static,
{
    let tsfn: JsCallback<T> = f
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(move |_ctx| Ok(make()))?;
    Ok(Box::new(move || {
        let status = tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        if status != Status::Ok {
            tracing::warn!(?status, "could not schedule a {what} to JS");
        }
    }))
}
