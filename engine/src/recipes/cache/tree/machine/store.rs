//! The node store: which paths belong in the cache (the scope: under the root, within the
//! maximum depth, accepted by the selector), and how the cached nodes change (a change
//! reported once, a subtree dropped deepest first).

use super::TreeMachine;
use crate::path;
use crate::recipes::cache::ChildData;

impl TreeMachine {
    /// How many levels `p` lies below the root (0: the root).
    pub(super) fn depth(&self, p: &str) -> usize {
        if p == self.root {
            return 0;
        }
        let rest = if self.root == "/" {
            &p[1..]
        } else {
            &p[self.root.len() + 1..]
        };
        rest.split('/').count()
    }

    /// True for a strict descendant of the root.
    pub(super) fn under_root(&self, p: &str) -> bool {
        p != self.root
            && (self.root == "/" && p.starts_with('/')
                || p.starts_with(&self.root) && p[self.root.len()..].starts_with('/'))
    }

    /// True when the children of the cached node `p` are listed.
    pub(super) fn descendable(&self, p: &str) -> bool {
        self.depth(p) < self.options.max_depth && self.options.selector.descends(p)
    }

    /// True when `p` belongs in the cache.
    pub(super) fn in_scope(&self, p: &str) -> bool {
        if p == self.root {
            return true;
        }
        if !self.under_root(p)
            || self.depth(p) > self.options.max_depth
            || !self.options.selector.accepts(p)
            || !self.descendable(&self.root)
        {
            return false;
        }
        path::ancestors(p)
            .filter(|a| self.under_root(a))
            .all(|a| self.options.selector.accepts(a) && self.descendable(a))
    }

    /// True for the root and for a node whose parent is cached or being read.
    pub(super) fn parent_known(&self, p: &str) -> bool {
        p == self.root || path::parent(p).is_some_and(|parent| self.nodes.contains_key(parent))
    }

    /// The known direct children of `p`.
    pub(super) fn children_of(&self, p: &str) -> Vec<String> {
        let depth = p.len() + usize::from(p != "/");
        self.descendants(p)
            .filter(|k| !k[depth..].contains('/'))
            .cloned()
            .collect()
    }

    /// The known strict descendants of `p`, in path order (every node after its parent).
    fn descendants<'a>(&'a self, p: &str) -> impl Iterator<Item = &'a String> + 'a {
        let prefix = if p == "/" {
            "/".to_owned()
        } else {
            format!("{p}/")
        };
        let start = prefix.clone();
        self.nodes
            .range(start..)
            .map(|(k, _)| k)
            .take_while(move |k| k.starts_with(&prefix))
            .filter(|k| *k != "/")
    }

    /// Caches a fresh read of `p` and reports what changed.
    pub(super) fn apply(&mut self, p: &str, new: ChildData) {
        let node = self.nodes.entry(p.to_owned()).or_default();
        let old = node.data.replace(new.clone());
        self.core.report(old, new, false);
    }

    /// Drops `p` and everything cached below it, deepest first.
    pub(super) fn remove_subtree(&mut self, p: &str) {
        let mut doomed: Vec<String> = self.descendants(p).cloned().collect();
        if self.nodes.contains_key(p) {
            doomed.insert(0, p.to_owned());
        }
        // A descendant sorts after its ancestors: reversed, descendants come first.
        for k in doomed.into_iter().rev() {
            let node = self.nodes.remove(&k).expect("listed");
            for token in [node.data_watch, node.child_watch].into_iter().flatten() {
                self.watches.remove(&token);
            }
            if let Some(data) = node.data {
                self.core.removed(data);
            }
        }
    }

    /// Reads again the known children of the newly cached `p` that were held back while it
    /// was not cached.
    pub(super) fn adopt(&mut self, p: &str) {
        let waiting: Vec<String> = self
            .children_of(p)
            .into_iter()
            .filter(|c| {
                self.nodes
                    .get(c)
                    .is_some_and(|n| n.data.is_none() && n.reading.is_none())
            })
            .collect();
        for c in waiting {
            self.read_data(&c);
        }
    }

    /// True when `stat` shows another node or other data than the cached one.
    pub(super) fn stale(&self, p: &str, stat: &crate::types::Stat) -> bool {
        self.current_data(p)
            .is_none_or(|d| d.stat.czxid != stat.czxid || d.stat.mzxid != stat.mzxid)
    }
}
