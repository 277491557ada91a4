//! The protocol's types as database values, on SQLite and PostgreSQL:
//! stored as the same text as always (a client id, a redirect URI,
//! space-separated scopes), and read back through the rule that builds each
//! type, so that a row never yields a value the rest of the crate could not
//! have built itself.

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

/// PostgreSQL: each type is its text (a `TEXT` column), read back through
/// the same rules as on SQLite.
mod postgres_values {
    use std::error::Error;

    use bytes::BytesMut;
    use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

    use crate::protocol::{ClientId, RedirectUri, Scopes};

    type Failure = Box<dyn Error + Sync + Send>;

    fn unreadable(what: &str, text: &str) -> Failure {
        format!("stored {what} `{text}` is not valid").into()
    }

    macro_rules! as_text {
        ($type:ty, $what:literal, |$text:ident| $parse:expr) => {
            impl ToSql for $type {
                fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Failure> {
                    self.to_string().as_str().to_sql(ty, out)
                }
                fn accepts(ty: &Type) -> bool {
                    <&str as ToSql>::accepts(ty)
                }
                to_sql_checked!();
            }

            impl<'a> FromSql<'a> for $type {
                fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Failure> {
                    let $text = <&str as FromSql>::from_sql(ty, raw)?;
                    $parse.ok_or_else(|| unreadable($what, $text))
                }
                fn accepts(ty: &Type) -> bool {
                    <&str as FromSql>::accepts(ty)
                }
            }
        };
    }

    as_text!(Scopes, "scope", |text| Scopes::parse(text).ok());
    as_text!(ClientId, "client id", |text| ClientId::parse(text));
    as_text!(RedirectUri, "redirect URI", |text| RedirectUri::parse(text)
        .ok());
}
