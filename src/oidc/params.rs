//! Request parameters as OAuth reads them: a parameter sent without a value
//! is treated as omitted (RFC 6749 §3.1) and none may appear twice.

use super::OAuthError;

/// Longest value accepted for any single parameter.
pub const MAX_VALUE_LEN: usize = 8 * 1024;
/// Longest parameter name: every name OAuth defines is short.
const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (query or body).
    /// Invalid percent-encoding is kept literally, invalid UTF-8 replaced:
    /// such values then fail validation like any other bad value.
    pub fn parse(input: &[u8]) -> Params {
        Params(
            url::form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`, `None` when absent or empty; an error when it is
    /// repeated or absurdly long.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "the {name} parameter is repeated"
                    )));
                }
                if v.len() > MAX_VALUE_LEN {
                    return Err(OAuthError::invalid_request(format!(
                        "the {name} parameter is too long"
                    )));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// The first value of `name`, ignoring repetitions (used only to echo
    /// `state` in an error about the repetition itself).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first repeated parameter name, if any.
    pub fn repeated(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        self.0
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.as_str())
            .find(|k| !seen.insert(*k))
    }

    /// The first parameter, known or not, whose name or value is over the
    /// caps (its name, or a placeholder when the name is the long part).
    pub fn oversized(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k.len() > MAX_NAME_LEN || v.len() > MAX_VALUE_LEN)
            .map(|(k, _)| {
                if k.len() > MAX_NAME_LEN {
                    "(unnamed)"
                } else {
                    k.as_str()
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_omitted_and_repeats_are_errors() {
        let p = Params::parse(b"a=1&b=&c=2&c=3&bad=%zz&utf=%ff");
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), None);
        assert!(p.get("c").is_err());
        assert_eq!(p.repeated(), Some("c"));
        assert_eq!(p.get("bad").unwrap(), Some("%zz"));
        assert_eq!(p.get("utf").unwrap(), Some("\u{fffd}"));
    }
}
