//! The model, fault-free, against a plain sequential znode tree on arbitrary op sequences.

use std::collections::BTreeMap;

use docent::{Acl, CreateMode, Error, Op, OpResult};
use proptest::prelude::*;

use super::tests::Rig;
use super::ClientOptions;

/// The reference: path → (data, version, creates of children, ephemeral).
#[derive(Default)]
struct Reference(BTreeMap<String, (Vec<u8>, i32, i32, bool)>);

impl Reference {
    fn parent(p: &str) -> String {
        docent::path::parent(p).unwrap_or("/").to_owned()
    }

    fn children(&self, p: &str) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| k.as_str() != "/" && Self::parent(k) == p)
            .map(|k| docent::path::name(k).to_owned())
            .collect()
    }

    fn apply(&mut self, op: &Op) -> Result<OpResult, Error> {
        match op {
            Op::Create {
                path, data, mode, ..
            } => {
                let parent = Self::parent(path);
                let Some(&(_, _, cv, eph)) = self.0.get(&parent) else {
                    return Err(Error::NoNode);
                };
                let full = if mode.is_sequential() {
                    format!("{path}{cv:010}")
                } else {
                    path.clone()
                };
                if self.0.contains_key(&full) {
                    return Err(Error::NodeExists);
                }
                if eph {
                    return Err(Error::NoChildrenForEphemerals);
                }
                self.0.get_mut(&parent).unwrap().2 += 1;
                self.0
                    .insert(full.clone(), (data.clone(), 0, 0, mode.is_ephemeral()));
                Ok(OpResult::Created {
                    path: full,
                    stat: Default::default(),
                })
            }
            Op::Delete { path, version } => {
                let Some(&(_, v, _, _)) = self.0.get(path) else {
                    return Err(Error::NoNode);
                };
                if version.is_some_and(|x| x != v) {
                    return Err(Error::BadVersion);
                }
                if !self.children(path).is_empty() {
                    return Err(Error::NotEmpty);
                }
                // The sequence counter counts creates only (ZooKeeper's persisted cversion).
                self.0.remove(path);
                Ok(OpResult::Deleted)
            }
            Op::SetData {
                path,
                data,
                version,
            } => {
                let Some(node) = self.0.get_mut(path) else {
                    return Err(Error::NoNode);
                };
                if version.is_some_and(|x| x != node.1) {
                    return Err(Error::BadVersion);
                }
                node.0 = data.clone();
                node.1 += 1;
                Ok(OpResult::Stat(Default::default()))
            }
            Op::GetData { path, .. } => match self.0.get(path) {
                Some(n) => Ok(OpResult::Data {
                    data: n.0.clone(),
                    stat: Default::default(),
                }),
                None => Err(Error::NoNode),
            },
            Op::GetChildren { path, .. } => match self.0.get(path) {
                Some(_) => Ok(OpResult::Children {
                    children: self.children(path),
                    stat: Default::default(),
                }),
                None => Err(Error::NoNode),
            },
            _ => unreachable!(),
        }
    }
}

/// Compares what both can know (stats aside from version).
fn same(model: &Result<OpResult, Error>, reference: &Result<OpResult, Error>) -> bool {
    match (model, reference) {
        (Ok(OpResult::Created { path: a, .. }), Ok(OpResult::Created { path: b, .. })) => a == b,
        (Ok(OpResult::Deleted), Ok(OpResult::Deleted)) => true,
        (Ok(OpResult::Stat(_)), Ok(OpResult::Stat(_))) => true,
        (Ok(OpResult::Data { data: a, .. }), Ok(OpResult::Data { data: b, .. })) => a == b,
        (
            Ok(OpResult::Children { children: a, .. }),
            Ok(OpResult::Children { children: b, .. }),
        ) => a == b,
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let path = prop::sample::select(vec!["/a", "/b", "/a/x", "/a/y", "/b/z", "/a/x/q"]);
    let version = prop::option::of(0..3i32);
    let mode = prop::sample::select(vec![
        CreateMode::Persistent,
        CreateMode::PersistentSequential,
        CreateMode::Ephemeral,
        CreateMode::EphemeralSequential,
    ]);
    prop_oneof![
        (path.clone(), any::<u8>(), mode).prop_map(|(p, d, mode)| Op::Create {
            path: p.into(),
            data: vec![d],
            acl: Acl::open(),
            mode
        }),
        (path.clone(), version.clone()).prop_map(|(p, version)| Op::Delete {
            path: p.into(),
            version
        }),
        (path.clone(), any::<u8>(), version).prop_map(|(p, d, version)| Op::SetData {
            path: p.into(),
            data: vec![d],
            version
        }),
        path.clone().prop_map(|p| Op::GetData {
            path: p.into(),
            watch: false
        }),
        path.prop_map(|p| Op::GetChildren {
            path: p.into(),
            watch: false
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn model_matches_sequential_reference(ops in prop::collection::vec(op_strategy(), 1..40), seed in 0u64..1000) {
        let mut rig = Rig::new(seed);
        let c = rig.client(ClientOptions::default());
        let mut reference = Reference::default();
        reference.0.insert("/".into(), (vec![], 0, 0, false));
        reference.0.insert("/zookeeper".into(), (vec![], 0, 0, false));
        for op in ops {
            let want = reference.apply(&op);
            let got = rig.op(c, op.clone());
            prop_assert!(same(&got, &want), "{op:?}: model {got:?}, reference {want:?}");
        }
    }
}
