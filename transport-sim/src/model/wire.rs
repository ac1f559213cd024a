//! The wire size of requests: shared with the engine (`docent::wire`), which refuses an
//! oversize request before sending it; the model's server drops the connection on one, as
//! ZooKeeper does.

pub(crate) use docent::wire::too_long;
