//! The process allocator: mimalloc, keeping the memory a query frees for the next query.
//!
//! DataFusion plans allocate many small objects per query; mimalloc serves them faster than
//! glibc's allocator (measured in benches/serve.rs). By default mimalloc also hands memory it
//! no longer uses back to the OS (`MADV_DONTNEED`) a second after it is freed, so each query's
//! hash tables and batches land on fresh pages that the kernel faults in and zeroes again. Here
//! that is off: freed memory stays with mimalloc and is reused, and the process keeps the
//! memory of its largest query (TPC-H SF1 in `cargo bench --bench tpch`: about 6% less time).
//! `MIMALLOC_PURGE_DELAY=<ms>` in the environment restores returning memory after that delay,
//! for a long-running `serve` that should shrink between bursts.
//!
//! The benches include this file, so they measure the allocator the binary ships with.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of `mimalloc.h` (the sys crate names only some of the options).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed memory (see the module's comment), unless `MIMALLOC_PURGE_DELAY` says otherwise.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: options are plain values mimalloc reads when it next frees memory; setting
        // one is allowed at any time, from any thread.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn freed_memory_is_kept() {
        // SAFETY: reading and setting options is allowed at any time
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // the option is the purge delay: mimalloc's default for it is a second
            assert_eq!(get(), 1000);
            super::configure();
            assert_eq!(get(), -1);
        }
    }
}
