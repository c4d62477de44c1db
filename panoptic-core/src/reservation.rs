//! The reservation a budgeted call holds while it runs: a leaf, so the
//! call's extras can carry it without depending on the budget machinery.

use rust_decimal::Decimal;

/// A reservation held by a call in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Reserved {
    /// The budget's name.
    pub budget: String,
    /// The id the call's final event carries (`metadata.call_id`).
    pub call_id: String,
    /// What is held.
    pub estimate: Decimal,
    /// False when the reservation could not be made and the budget fails
    /// open (MongoDB did not answer, or the budget is unknown).
    pub held: bool,
    /// Set when the call settled it as it ended (its amount was known):
    /// the writer then leaves this budget alone.
    pub settled: bool,
}
