//! What a tree cache descends into and keeps.

use std::fmt;
use std::sync::Arc;

type Filter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Which paths a [`TreeCache`](super::TreeCache) lists and caches (Curator's
/// `TreeCacheSelector`). Both filters get full paths; by default everything is taken.
#[derive(Clone)]
pub struct Selector {
    descend: Filter,
    accept: Filter,
}

impl Default for Selector {
    fn default() -> Self {
        Selector::all()
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Selector")
    }
}

impl Selector {
    /// Every node, every level.
    pub fn all() -> Selector {
        Selector {
            descend: Arc::new(|_| true),
            accept: Arc::new(|_| true),
        }
    }

    /// List the children of a node only when `f(path)` holds (Curator's `traverseChildren`).
    pub fn descend(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Selector {
        self.descend = Arc::new(f);
        self
    }

    /// Cache a node below the root (and descend into it) only when `f(path)` holds
    /// (Curator's `acceptChild`). The root is always cached.
    pub fn accept(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Selector {
        self.accept = Arc::new(f);
        self
    }

    pub(crate) fn descends(&self, path: &str) -> bool {
        (self.descend)(path)
    }

    pub(crate) fn accepts(&self, path: &str) -> bool {
        (self.accept)(path)
    }
}

/// How much of the tree a [`TreeCache`](super::TreeCache) keeps.
#[derive(Debug, Clone)]
#[must_use]
pub struct TreeOptions {
    pub(crate) max_depth: usize,
    pub(crate) cache_data: bool,
    pub(crate) selector: Selector,
}

impl Default for TreeOptions {
    /// Unbounded depth, data cached, everything selected.
    fn default() -> Self {
        TreeOptions {
            max_depth: usize::MAX,
            cache_data: true,
            selector: Selector::all(),
        }
    }
}

impl TreeOptions {
    /// Cache nodes at most `depth` levels below the root (the root is level 0; 1 caches the
    /// root and its children).
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Whether to keep data (`false`: stat only).
    pub fn cache_data(mut self, cache_data: bool) -> Self {
        self.cache_data = cache_data;
        self
    }

    /// Which paths to descend into and cache.
    pub fn selector(mut self, selector: Selector) -> Self {
        self.selector = selector;
        self
    }
}
