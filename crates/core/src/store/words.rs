//! The one mapping between the enums the store keeps and their text in
//! the database: each stored as its serde name, and a stored value no enum
//! knows is refused with a read error that names it, never guessed.

use serde::{Deserialize, Serialize};

/// An enum's snake_case name, as stored.
pub(super) fn json_word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The enum a stored name stands for.
pub(super) fn from_word<T: for<'de> Deserialize<'de>>(word: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(word.to_string())).ok()
}

/// A column holding an enum's name; an unknown name is a read error that
/// says which.
pub(super) fn word_column<T: for<'de> Deserialize<'de>>(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<T> {
    let word: String = row.get(index)?;
    from_word(&word).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown value {word:?}").into(),
        )
    })
}
