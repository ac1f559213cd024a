//! Who stands in an election (Curator's `getParticipants`).

/// One participant of a leader latch or selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Its id: the node's data as UTF-8 (lossy for foreign bytes).
    pub id: String,
    /// True for the leader: the first participant, in lock order, whose node still exists.
    pub is_leader: bool,
}

/// Participants from sorted children and what reading each node gave (`None`: it vanished
/// between the listing and the read, and is skipped as Curator does).
pub fn from_nodes(data: impl IntoIterator<Item = Option<Vec<u8>>>) -> Vec<Participant> {
    let mut out: Vec<Participant> = Vec::new();
    for bytes in data.into_iter().flatten() {
        out.push(Participant {
            id: String::from_utf8_lossy(&bytes).into_owned(),
            is_leader: out.is_empty(),
        });
    }
    out
}

/// Reads the participants of the lock-style directory `dir` whose nodes are named
/// `…<lock_name><seq>`: one listing, then every node's data requested at once.
pub async fn read(
    client: &crate::framework::Client,
    dir: &str,
    lock_name: &str,
) -> Result<Vec<Participant>, crate::Error> {
    use crate::op::{Op, OpResult};
    let children = match client
        .submit(Op::GetChildren {
            path: dir.to_owned(),
            watch: false,
        })
        .await
    {
        Ok(reply) => match reply.result {
            OpResult::Children { children, .. } => children,
            _ => Vec::new(),
        },
        Err(crate::Error::NoNode) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let reads: Vec<_> = crate::recipes::order::sorted(children, lock_name)
        .iter()
        .map(|name| {
            client.submit(Op::GetData {
                path: crate::path::join(dir, name),
                watch: false,
            })
        })
        .collect();
    let mut data = Vec::with_capacity(reads.len());
    for result in futures::future::join_all(reads).await {
        data.push(match result {
            Ok(reply) => match reply.result {
                OpResult::Data { data, .. } => Some(data),
                _ => None,
            },
            Err(crate::Error::NoNode) => None,
            Err(e) => return Err(e),
        });
    }
    Ok(from_nodes(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_existing_node_leads() {
        let p = from_nodes([None, Some(b"b".to_vec()), Some(b"c".to_vec())]);
        assert_eq!(
            p,
            vec![
                Participant {
                    id: "b".into(),
                    is_leader: true
                },
                Participant {
                    id: "c".into(),
                    is_leader: false
                }
            ]
        );
    }
}
