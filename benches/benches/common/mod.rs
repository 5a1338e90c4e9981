//! What every criterion bench of this crate shares (each `benches/*.rs` is its own crate and
//! includes this with `mod common;`).

use std::time::Duration;

use criterion::Criterion;

/// Short defaults for a shared 2-core machine; the command line overrides them.
pub(crate) fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}
