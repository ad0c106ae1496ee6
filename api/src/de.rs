//! How some request fields are read, so that the server takes exactly what
//! their JSON Schema allows: an integer may be written `3.0` (JSON and JSON
//! Schema do not tell it from `3`), and an object must be an object (serde
//! would also read a struct from an array of its fields in order).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Error, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Number;

fn integral<T: TryFrom<i128>, E: Error>(n: &Number) -> Result<T, E> {
    let whole = match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => Some(i128::from(i)),
        (_, Some(u), _) => Some(i128::from(u)),
        // Exact for every float that is a whole number within range.
        (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e30 => Some(f as i128),
        _ => None,
    };
    whole
        .and_then(|w| T::try_from(w).ok())
        .ok_or_else(|| E::custom(format!("expected an integer in range, got {n}")))
}

/// An integer, as `3` or `3.0`.
pub(crate) fn integer<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<T, D::Error> {
    integral(&Number::deserialize(d)?)
}

/// An optional integer, as `3`, `3.0` or `null`.
pub(crate) fn optional_integer<'de, D: Deserializer<'de>, T: TryFrom<i128>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Number>::deserialize(d)?
        .map(|n| integral(&n))
        .transpose()
}

/// A struct, from a JSON object only.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::deserialize(d).map(|Object(t)| t)
}

/// A list of structs, each from a JSON object only.
pub(crate) fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let items = Vec::<Object<T>>::deserialize(d)?;
    Ok(items.into_iter().map(|Object(t)| t).collect())
}

/// `T`, read only from a JSON object: what a request body must be.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Fields(PhantomData)).map(Object)
    }
}
