//! The demo scenario: "a broken cluster an agent should diagnose".
//!
//! Which pods misbehave, and how, is decided by the fake kubelet's
//! [`behaviour`](kubently_fake_kubelet::behaviour) table ([`behaviour_for`]), re-exported here with
//! the names it matches on; this module seeds the objects ([`seed`]) and waits until every state
//! is visible ([`wait_converged`]). Test pods may ask for a behaviour with [`BEHAVIOUR_ANNOTATION`].

pub use kubently_fake_kubelet::behaviour::{
    BATCH_NS, BEHAVIOUR_ANNOTATION, Behaviour, CHECKOUT, NIGHTLY_MIGRATION, ORDERS_API, REPORT_BUILDER,
    SHOP_NS, THUMBNAILER, behaviour_for,
};

// The other documented names (README § Demo scenario); the misbehaving workloads' are above.
pub const STOREFRONT: &str = "storefront";
pub const PAYMENTS_SVC: &str = "payments";
pub const STOREFRONT_CONFIG: &str = "storefront-config";
pub const ORDERS_DB_SECRET: &str = "orders-db-credentials";
pub const ML_TRAINER: &str = "ml-trainer";
pub const GPU_INFERENCE: &str = "gpu-inference";

/// Values of the demo Secret. They must never appear in any output Kubently produces (plain or
/// base64); tests search for them.
pub const SECRET_VALUES: &[(&str, &str)] = &[
    ("username", "orders_app"),
    ("password", "kubently-canary-Zp4qT9vX2mLw"),
    ("DATABASE_URL", "postgres://orders_app:kubently-canary-Zp4qT9vX2mLw@postgres:5432/orders"),
    ("api-token", "kubently-canary-tok-8c1e0f5d9a7b"),
];

mod seed;
pub use seed::{Readiness, converged, seed, wait_converged};
