//! How a provider picks one instance (Curator's `ProviderStrategy`).

use std::fmt;
use std::sync::Arc;

use crate::discovery::instance::ServiceInstance;
use crate::rng::Rng;

/// Picks one of `instances` (already filtered). Called under the provider's lock with the
/// same slice until the instances change, so a strategy may keep state (an index, the
/// instance it sticks to). Must not allocate if picks are to stay cheap.
pub trait ProviderStrategy: Send + fmt::Debug + 'static {
    /// The index of the pick, or `None` for none (an empty slice must give `None`).
    fn pick(&mut self, instances: &[Arc<ServiceInstance>]) -> Option<usize>;
}

/// Each instance in turn: `index++ % n` (Curator's default).
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: usize,
}

impl ProviderStrategy for RoundRobin {
    fn pick(&mut self, instances: &[Arc<ServiceInstance>]) -> Option<usize> {
        if instances.is_empty() {
            return None;
        }
        let index = self.next % instances.len();
        self.next = self.next.wrapping_add(1);
        Some(index)
    }
}

/// A uniformly random instance, from a seeded random source (`client.next_rng()`).
#[derive(Debug, Clone)]
pub struct Random {
    rng: Rng,
}

impl Random {
    /// Random picks drawn from `rng`.
    pub fn new(rng: Rng) -> Random {
        Random { rng }
    }
}

impl ProviderStrategy for Random {
    fn pick(&mut self, instances: &[Arc<ServiceInstance>]) -> Option<usize> {
        if instances.is_empty() {
            return None;
        }
        Some(self.rng.below(instances.len() as u64) as usize)
    }
}

/// Keeps returning the same instance (by id) until it leaves the list, then asks `inner`
/// for a new one.
#[derive(Debug, Clone)]
pub struct Sticky<S> {
    inner: S,
    /// The id we stick to, and where it was last seen.
    current: Option<(String, usize)>,
}

impl<S: ProviderStrategy> Sticky<S> {
    /// Sticks to what `inner` picks.
    pub fn new(inner: S) -> Sticky<S> {
        Sticky {
            inner,
            current: None,
        }
    }
}

impl<S: ProviderStrategy> ProviderStrategy for Sticky<S> {
    fn pick(&mut self, instances: &[Arc<ServiceInstance>]) -> Option<usize> {
        if let Some((id, hint)) = &mut self.current {
            if instances.get(*hint).is_some_and(|i| i.id == *id) {
                return Some(*hint);
            }
            if let Some(found) = instances.iter().position(|i| i.id == *id) {
                *hint = found;
                return Some(found);
            }
        }
        let picked = self.inner.pick(instances)?;
        self.current = Some((instances[picked].id.clone(), picked));
        Some(picked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[&str]) -> Vec<Arc<ServiceInstance>> {
        ids.iter()
            .map(|id| {
                Arc::new(
                    ServiceInstance::builder("svc")
                        .id(*id)
                        .address("h")
                        .build_with(&mut Rng::new(1, 0), 0)
                        .unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn round_robin_cycles_from_the_first() {
        let l = list(&["a", "b", "c"]);
        let mut s = RoundRobin::default();
        let picks: Vec<_> = (0..5).map(|_| s.pick(&l).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1]);
        assert_eq!(s.pick(&[]), None);
        // The counter carries over a shrinking list: index++ % n.
        assert_eq!(s.pick(&l[..2]), Some(1), "5 % 2");
    }

    #[test]
    fn random_is_seeded_and_covers_every_instance() {
        let l = list(&["a", "b", "c"]);
        let picks = |seed| {
            let mut s = Random::new(Rng::new(seed, 0));
            (0..60).map(|_| s.pick(&l).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(picks(4), picks(4));
        let p = picks(4);
        assert!((0..3).all(|i| p.contains(&i)));
        assert_eq!(Random::new(Rng::new(1, 0)).pick(&[]), None);
    }

    #[test]
    fn sticky_keeps_its_instance_until_it_leaves() {
        let l = list(&["a", "b", "c"]);
        let mut s = Sticky::new(RoundRobin { next: 1 });
        assert_eq!(s.pick(&l), Some(1));
        assert_eq!(s.pick(&l), Some(1));
        // "b" moved (an instance before it left): still "b".
        let moved = list(&["b", "c"]);
        assert_eq!(s.pick(&moved), Some(0));
        // "b" left: the inner strategy picks again.
        let gone = list(&["a", "c"]);
        let next = s.pick(&gone).unwrap();
        assert_eq!(gone[next].id, "a", "round robin's next index: 2 % 2 = 0");
        assert_eq!(s.pick(&gone), Some(next));
        assert_eq!(Sticky::new(RoundRobin::default()).pick(&[]), None);
    }
}
