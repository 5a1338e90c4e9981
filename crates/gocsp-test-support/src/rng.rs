//! [`Rng`].

/// A small xorshift generator: the tests need cheap, reproducible randomness, not a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number, in `0..n`. Panics if `n` is zero.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn a_seed_replays_its_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..100).map(|_| a.below(1000)).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.below(1000)).collect();
        assert_eq!(xs, ys);
        let mut c = Rng::new(8);
        let zs: Vec<u64> = (0..100).map(|_| c.below(1000)).collect();
        assert_ne!(xs, zs);
    }

    #[test]
    fn below_stays_below_and_reaches_every_value() {
        for seed in [0, 1, u64::MAX] {
            let mut rng = Rng::new(seed);
            let mut seen = [false; 6];
            for _ in 0..1000 {
                let x = rng.below(6);
                assert!(x < 6);
                seen[x as usize] = true;
            }
            assert!(seen.iter().all(|&s| s), "seed {seed}: {seen:?}");
        }
    }
}
