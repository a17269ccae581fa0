//! What each subcommand does.

pub mod bench;
pub mod code_map;
pub mod eval;
pub mod gallery;
pub mod train;
