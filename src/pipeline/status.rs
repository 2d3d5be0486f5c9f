//! What the pipeline reports about itself to `/readyz` and to callers waiting for progress.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Shared, lock-free pipeline state. The pipeline thread writes it; HTTP handlers and tests read.
#[derive(Debug, Default)]
pub struct PipelineStatus {
    /// The consumer holds at least one partition (set from the rebalance callback).
    assigned: AtomicBool,
    /// The producer finished `init_transactions` (or, at least once, was created).
    producer_ready: AtomicBool,
    /// Input records whose outcome (records or dead letter) is committed, since start.
    committed_inputs: AtomicU64,
}

impl PipelineStatus {
    /// Ready to serve: partitions assigned and the producer's transactions initialised.
    pub fn is_ready(&self) -> bool {
        self.assigned.load(Ordering::Acquire) && self.producer_ready.load(Ordering::Acquire)
    }

    /// Whether the producer is initialised (transactions, for exactly once).
    pub fn is_producer_ready(&self) -> bool {
        self.producer_ready.load(Ordering::Acquire)
    }

    /// Whether the consumer currently has an assignment.
    pub fn is_assigned(&self) -> bool {
        self.assigned.load(Ordering::Acquire)
    }

    /// Input records committed since start (processed or dead-lettered).
    pub fn committed_inputs(&self) -> u64 {
        self.committed_inputs.load(Ordering::Acquire)
    }

    pub(crate) fn set_assigned(&self, assigned: bool) {
        self.assigned.store(assigned, Ordering::Release);
    }

    pub(crate) fn set_producer_ready(&self, ready: bool) {
        self.producer_ready.store(ready, Ordering::Release);
    }

    pub(crate) fn add_committed_inputs(&self, n: u64) {
        self.committed_inputs.fetch_add(n, Ordering::AcqRel);
    }
}
