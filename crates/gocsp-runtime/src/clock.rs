//! The clock that stamps when a goroutine started blocking (the "since when" of a dump entry).
//!
//! Every poll that blocks in a new wait reads it, so it must be cheap. On Linux and FreeBSD it
//! is the kernel's coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`): a read of the vDSO page
//! the kernel updates at each tick, several times cheaper than `Instant::now()` (which reads the
//! TSC, on a VM through the hypervisor's clock). Its resolution is the tick, 1 to 10 ms, far
//! below what a goroutine dump shows (Go prints whole minutes, and only stamps `waitsince` when
//! a GC sweeps the stacks). The precise clock would be a visible share of a ping-pong between
//! goroutines, where every round trip blocks twice (docs/performance.md has the figures).
//!
//! Elsewhere it is `std::time::Instant`. Either way it is wall-clock time: tokio's paused
//! test clock (`start_paused`) does not move it.

/// Nanoseconds on a monotonic clock, with the resolution described in the module docs. Only
/// differences between two readings mean anything.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[inline]
pub(crate) fn now() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    // Both fields are non-negative for a monotonic clock.
    (t.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(t.tv_nsec as u64)
}

/// Nanoseconds on a monotonic clock. Only differences between two readings mean anything.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
#[inline]
pub(crate) fn now() -> u64 {
    use std::sync::LazyLock;
    use std::time::Instant;
    static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);
    u64::try_from(BASE.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The time from reading `since` to now.
pub(crate) fn since(since: u64) -> std::time::Duration {
    std::time::Duration::from_nanos(now().saturating_sub(since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn it_is_monotonic_and_follows_real_time() {
        let a = now();
        std::thread::sleep(Duration::from_millis(60));
        let b = now();
        assert!(b >= a);
        // The coarse clock may lag a tick (at most 10 ms) behind at either reading.
        let d = since(a);
        assert!(d >= Duration::from_millis(40), "{d:?}");
        assert!(b.saturating_sub(a) >= 40_000_000, "{}", b - a);
    }
}
