//! How the report writes a figure, the same in every format: an amount
//! with its currency, never a bare 0 for calls nobody priced, and beside
//! each total the calls it leaves out.

use panoptic::Decimal;
use panoptic::prices::rates::Rate;

/// What an amount cell says when every call of its group was unpriced.
pub(super) const UNPRICED: &str = "unpriced";

/// `amount` as shown: exact, or to six places when converted (the
/// inverse of a rate has 28 digits; no bill has more than six).
pub(super) fn amount(amount: Decimal, converted: bool) -> String {
    if converted {
        amount.round_dp(6).normalize().to_string()
    } else {
        amount.normalize().to_string()
    }
}

/// An amount cell: `unpriced` when every call of its group was (a zero
/// there means unknown, never free).
pub(super) fn amount_or_unpriced(value: Decimal, all_unpriced: bool, converted: bool) -> String {
    if all_unpriced {
        UNPRICED.to_owned()
    } else {
        amount(value, converted)
    }
}

/// `3 calls unpriced, not counted`, or `all 12 calls priced`: what every
/// total says beside it, so that a sum never hides what it could not add.
pub(super) fn unpriced_note(unpriced: u64, count: u64) -> String {
    match (unpriced, count) {
        (0, 0) => "no calls".to_owned(),
        (0, 1) => "the 1 call priced".to_owned(),
        (0, count) => format!("all {count} calls priced"),
        (1, _) => "1 call unpriced, not counted".to_owned(),
        (unpriced, _) => format!("{unpriced} calls unpriced, not counted"),
    }
}

/// The rates behind a converted figure, `1 EUR = 1.08 USD (2026-12-01)`,
/// `; ` between them; empty when none was applied.
pub(super) fn rates(rates: &[Rate]) -> String {
    rates
        .iter()
        .map(Rate::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_total_says_what_it_leaves_out() {
        assert_eq!(unpriced_note(3, 10), "3 calls unpriced, not counted");
        assert_eq!(unpriced_note(1, 10), "1 call unpriced, not counted");
        assert_eq!(unpriced_note(0, 10), "all 10 calls priced");
        assert_eq!(unpriced_note(0, 1), "the 1 call priced");
    }

    #[test]
    fn converted_amounts_stop_at_six_places() {
        let inverse = Decimal::ONE / Decimal::new(108, 2);
        assert_eq!(amount(inverse, true), "0.925926");
        assert_eq!(amount(Decimal::new(1330, 2), false), "13.3");
    }
}
