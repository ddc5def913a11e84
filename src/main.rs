//! The `widgettdc` command line.

mod cli;

// DataFusion plans allocate many small objects per query; mimalloc serves them faster than
// glibc's allocator (measured in benches/serve.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main());
}
