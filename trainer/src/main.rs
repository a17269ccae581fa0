//! `trainer`: the command-line entry point.

use clap::Parser;

/// Training allocates and frees activations and im2col buffers of up to tens of megabytes at every
/// step. glibc returns such blocks to the kernel and page-faults them back in, which cost the conv
/// model a third of its time in the kernel; mimalloc, told never to purge, keeps them for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v2's `mimalloc.h` (the sys crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

use trainer::cli::{Cli, Command};
use trainer::commands;

fn main() -> std::process::ExitCode {
    // SAFETY: setting an option is a plain store mimalloc allows at any time; -1 means never purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Gallery(args) => commands::gallery::run(args),
        Command::CodeMap(args) => commands::code_map::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
