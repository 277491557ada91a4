//! Scopes (RFC 6749 §3.3, OIDC Core §5.4): the ones Sésame knows, and a set
//! of them parsed once from the space-separated `scope` value.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// A scope Sésame can grant. Only these exist: a request or a client
/// naming another one is refused, so an unknown name never gets further
/// than the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Openid,
    Email,
    Profile,
    Address,
    Phone,
    Roles,
    OfflineAccess,
}

impl Scope {
    /// Every scope, in the order discovery lists them and a set prints them.
    pub const ALL: [Scope; 7] = [
        Scope::Openid,
        Scope::Email,
        Scope::Profile,
        Scope::Address,
        Scope::Phone,
        Scope::Roles,
        Scope::OfflineAccess,
    ];

    /// The scope named `name`, exactly (scope names are case-sensitive).
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Openid => "openid",
            Scope::Email => "email",
            Scope::Profile => "profile",
            Scope::Address => "address",
            Scope::Phone => "phone",
            Scope::Roles => "roles",
            Scope::OfflineAccess => "offline_access",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name in a `scope` value that is none of [`Scope::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScope(pub String);

/// A set of scopes: order and repetition in the text it was parsed from
/// make no difference (RFC 6749 §3.3); it iterates, and prints, in the
/// order of [`Scope::ALL`]. A bit set, so copying it costs nothing.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    pub const EMPTY: Scopes = Scopes(0);

    /// Parses a space-separated `scope` value; runs of spaces count as one,
    /// and an empty value is the empty set.
    pub fn parse(text: &str) -> Result<Scopes, UnknownScope> {
        text.split(' ')
            .filter(|name| !name.is_empty())
            .map(|name| Scope::parse(name).ok_or_else(|| UnknownScope(name.to_owned())))
            .collect()
    }

    /// Parses a list of names, as `clients.toml` gives them.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Scopes, UnknownScope> {
        names
            .iter()
            .map(|n| Scope::parse(n.as_ref()).ok_or_else(|| UnknownScope(n.as_ref().to_owned())))
            .collect()
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn union(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }

    pub fn intersection(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    pub fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The space-separated names in alphabetical order: the form consents
    /// and their audit events have always been stored in, kept so that
    /// their rows read the same as before.
    pub fn alphabetical(self) -> String {
        let mut names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        names.sort_unstable();
        names.join(" ")
    }

    /// The scopes in the order of [`Scope::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        Scopes(iter.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

/// The space-separated form of RFC 6749 §3.3, as the token endpoint and the
/// database have always written it.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

/// A list of names, as a stored pending request has always held them.
impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for scope in self.iter() {
            seq.serialize_element(scope.as_str())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scopes, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of scope names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
                let mut scopes = Scopes::EMPTY;
                while let Some(name) = seq.next_element::<String>()? {
                    let scope = Scope::parse(&name)
                        .ok_or_else(|| de::Error::custom(format!("unknown scope {name}")))?;
                    scopes = scopes.with(scope);
                }
                Ok(scopes)
            }
        }
        deserializer.deserialize_seq(Names)
    }
}
