//! What each subcommand does.

pub mod bench;
pub mod eval;
pub mod gallery;
pub mod train;
