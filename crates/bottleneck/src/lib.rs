//! Code shared by the native trainer and the browser page, so both see exactly the same noise,
//! preprocessing, metrics and model card.
