//! The bottleneck trainer.
