//! The protocol's types as SQLite values: stored as the same text as
//! always (a client id, a redirect URI, space-separated scopes), and read
//! back through the rule that builds each type, so that a row never yields
//! a value the rest of the crate could not have built itself.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::protocol::{ClientId, RedirectUri, Scopes};

fn unreadable(what: &str, text: &str) -> FromSqlError {
    FromSqlError::Other(format!("stored {what} `{text}` is not valid").into())
}

impl ToSql for Scopes {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Scopes {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Scopes::parse(text).map_err(|_| unreadable("scope", text))
    }
}

impl ToSql for ClientId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ClientId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        ClientId::parse(text).ok_or_else(|| unreadable("client id", text))
    }
}

impl ToSql for RedirectUri {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for RedirectUri {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        RedirectUri::parse(text).map_err(|_| unreadable("redirect URI", text))
    }
}
