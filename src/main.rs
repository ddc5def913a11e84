//! The `widgettdc` command line.

mod allocator;
mod cli;

fn main() {
    allocator::configure();
    std::process::exit(cli::main());
}
