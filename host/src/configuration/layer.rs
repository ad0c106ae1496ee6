//! Laying one source of settings over another. The settings struct is
//! written once, inside [`layered!`], which also writes its `or` from the
//! same list of fields: a setting added to the struct is merged without a
//! line of its own, and none can be forgotten.

use std::fmt::Display;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, de::Error};

/// A setting's value in one layer, which may leave it unset.
pub trait Layer {
    /// `self` where it is set, else `under`.
    fn or(self, under: Self) -> Self;
}

impl<T> Layer for Option<T> {
    fn or(self, under: Self) -> Self {
        Option::or(self, under)
    }
}

/// A list is unset while empty: one layer's list replaces the other's
/// whole, and the two are never joined.
impl<T> Layer for Vec<T> {
    fn or(self, under: Self) -> Self {
        if self.is_empty() { under } else { self }
    }
}

/// A switch is on when any layer turns it on.
impl Layer for bool {
    fn or(self, under: Self) -> Self {
        self || under
    }
}

/// Declares the struct as written and gives it
/// `fn or(self, under: Self) -> Self`, which takes each field from `self`
/// where it is set and from `under` otherwise (see [`Layer`]).
macro_rules! layered {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_attr:meta])* $field_vis:vis $field:ident: $ty:ty, )*
        }
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $( $(#[$field_attr])* $field_vis $field: $ty, )*
        }

        impl $name {
            /// These settings, with those they leave unset taken from `under`.
            fn or(self, under: Self) -> Self {
                Self {
                    $( $field: $crate::configuration::layer::Layer::or(self.$field, under.$field), )*
                }
            }
        }
    };
}
pub(super) use layered;

/// Reads a setting from the file's text the way its flag is read, so both
/// take the same forms (a duration as `90s` or `2h 30m`, say).
pub fn from_text<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map(Some)
        .map_err(|e| D::Error::custom(format!("`{text}`: {e}")))
}
