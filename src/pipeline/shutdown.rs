//! Shutdown signalling, in the style of mini-redis: the binary turns SIGTERM/SIGINT into
//! [`ShutdownTrigger::trigger`], and tests call it directly to stop a pipeline in-process.
//!
//! The pipeline loop is synchronous (it lives on its own thread and blocks in librdkafka), so
//! [`Shutdown::is_shutdown`] is a cheap non-blocking check; async code awaits [`Shutdown::recv`].

use tokio::sync::watch;

/// The sending half: dropping it also counts as a shutdown request.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// A listener: cloneable, checked by the pipeline between polls and awaited by the HTTP server.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// Creates a connected trigger and listener.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    /// Asks every listener to stop. Idempotent.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// A new listener on this trigger.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }
}

impl Shutdown {
    /// Whether shutdown was requested (or the trigger is gone).
    pub fn is_shutdown(&self) -> bool {
        *self.receiver.borrow() || self.receiver.has_changed().is_err()
    }

    /// Waits until shutdown is requested.
    pub async fn recv(&mut self) {
        // `wait_for` errs only when the trigger was dropped, which also means "stop".
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_reaches_every_listener() {
        let (trigger, shutdown) = channel();
        let mut other = shutdown.clone();
        assert!(!shutdown.is_shutdown());
        trigger.trigger();
        assert!(shutdown.is_shutdown());
        other.recv().await;
    }

    #[tokio::test]
    async fn dropping_the_trigger_stops_too() {
        let (trigger, mut shutdown) = channel();
        drop(trigger);
        assert!(shutdown.is_shutdown());
        shutdown.recv().await;
    }
}
