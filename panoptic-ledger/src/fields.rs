//! Per-field code that cost queries, bill lines and report rows would
//! otherwise spell out one line per field.

/// Builder methods that each set an optional text field:
/// `pub fn name(mut self, value: impl Into<String>) -> Self`, with the doc
/// comments given.
macro_rules! text_setters {
    ($($(#[$doc:meta])* $name:ident;)+) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.$name = Some(value.into());
                self
            }
        )+
    };
}

/// Adds each named field of `$from` to the same field of `$into`.
macro_rules! add_fields {
    ($into:expr, $from:expr; $($field:ident),+ $(,)?) => {
        $($into.$field += $from.$field;)+
    };
}

pub(crate) use {add_fields, text_setters};
