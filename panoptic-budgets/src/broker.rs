//! The budget broker: one thread per handle, with its own runtime and
//! MongoDB client, that answers reservations for callers (the one round
//! trip a budgeted call pays before its body runs) and settles spend for
//! the writer (off every caller's path).

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};

use panoptic_core::budget_hook::{
    BudgetExceeded, BudgetHook, Reservation, ReserveFuture, Reserved, Spend,
};

use crate::serve::{Reply, Request, serve};
pub use crate::settings::{AlertCallback, BrokerSettings, Clock};
use crate::store::BudgetStatus;

/// The handle's side of the broker.
pub struct Broker {
    requests: mpsc::UnboundedSender<Request>,
    timeout: Duration,
}

impl Broker {
    /// Starts the broker thread.
    pub fn start(settings: BrokerSettings) -> std::io::Result<Broker> {
        let (requests, receiver) = mpsc::unbounded_channel();
        let timeout = settings.mongo.operation_limit();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("panoptic-budgets".to_owned())
            .spawn(move || runtime.block_on(serve(settings, receiver)))?;
        Ok(Broker { requests, timeout })
    }

    /// Reserves for a synchronous call, waiting at most the operation
    /// timeout (plus a second for the broker's own bookkeeping).
    pub fn reserve_blocking(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let call_id = bson::oid::ObjectId::new().to_hex();
        let fallback = unanswered(&reservation, &call_id);
        let sent = self.requests.send(Request::Reserve {
            reservation,
            call_id,
            reply: Reply::Blocking(tx),
        });
        if sent.is_err() {
            return fallback;
        }
        rx.recv_timeout(self.timeout * 2 + Duration::from_secs(1))
            .unwrap_or(fallback)
    }

    /// Reserves for an async call: awaits the broker's answer (the broker
    /// bounds every operation, so this cannot hang).
    pub async fn reserve(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        let (tx, rx) = oneshot::channel();
        let call_id = bson::oid::ObjectId::new().to_hex();
        let fallback = unanswered(&reservation, &call_id);
        if self
            .requests
            .send(Request::Reserve {
                reservation,
                call_id,
                reply: Reply::Async(tx),
            })
            .is_err()
        {
            return fallback;
        }
        rx.await.unwrap_or(fallback)
    }

    /// Settles a reservation as its call ends (never waits).
    pub fn settle(&self, reserved: Reserved, amount: Decimal) {
        let _ = self.requests.send(Request::Settle { reserved, amount });
    }

    /// Counts spend (from the writer; never waits).
    pub fn spend(&self, spend: Spend) {
        let _ = self.requests.send(Request::Spend(Box::new(spend)));
    }

    /// Waits until every spend sent so far is settled.
    pub fn flush(&self) {
        let (tx, rx) = std_mpsc::sync_channel(1);
        if self.requests.send(Request::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(self.timeout * 4 + Duration::from_secs(1));
        }
    }

    /// Every budget's state now; `None` when MongoDB does not answer.
    pub fn statuses(&self) -> Option<Vec<BudgetStatus>> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.requests.send(Request::Statuses(tx)).ok()?;
        rx.recv_timeout(self.timeout * 4 + Duration::from_secs(1))
            .ok()?
    }
}

/// When the broker does not answer at all: fail open (the broker thread
/// is gone; nothing can be held).
fn unanswered(reservation: &Reservation, call_id: &str) -> Result<Reserved, BudgetExceeded> {
    Ok(Reserved {
        budget: reservation.budget.clone(),
        call_id: call_id.to_owned(),
        estimate: reservation.estimate,
        currency: reservation.currency.clone(),
        held: false,
        settled: false,
    })
}

impl BudgetHook for Broker {
    fn reserve_blocking(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        Broker::reserve_blocking(self, reservation)
    }

    fn reserve(&self, reservation: Reservation) -> ReserveFuture<'_> {
        Box::pin(Broker::reserve(self, reservation))
    }

    fn settle(&self, reserved: Reserved, amount: Decimal) {
        Broker::settle(self, reserved, amount);
    }

    fn spend(&self, spend: Spend) {
        Broker::spend(self, spend);
    }

    fn flush(&self) {
        Broker::flush(self);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
