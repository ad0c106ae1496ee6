//! SQL whose shape depends on its input (filters, lists of rows), built
//! with numbered placeholders (`$1`, `$2`, ...) that SQLite and Postgres
//! both read, and bound in order. sqlx's own `QueryBuilder` cannot serve
//! here: its arguments' lifetime cannot be chosen in code generic over the
//! database.

use std::fmt::Write;

/// A value a placeholder stands for.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Int(i64),
}

impl From<String> for Param {
    fn from(text: String) -> Self {
        Param::Text(text)
    }
}

impl From<i64> for Param {
    fn from(n: i64) -> Self {
        Param::Int(n)
    }
}

/// Statement text and the values of its placeholders, in order.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            params: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// A placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Param>) -> &mut Self {
        self.params.push(value.into());
        write!(self.text, "${}", self.params.len()).expect("writing to a String");
        self
    }
}
