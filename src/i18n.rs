//! French and English message catalogues (`templates/i18n/*.toml`, embedded
//! and parsed once) and the choice of language: an explicit choice, then
//! `ui_locales`, then the language cookie, then `Accept-Language`; French
//! when nothing matches.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// `fr`, `fr-FR`, `en-GB`… → a supported language.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language of a space-separated list (`ui_locales`).
    fn from_list(list: &str) -> Option<Lang> {
        list.split_whitespace().find_map(Lang::from_tag)
    }

    /// The preferred supported language of an `Accept-Language` header.
    fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',').take(20) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// Picks the language from the sources, strongest first.
    pub fn negotiate(
        explicit: Option<&str>,
        ui_locales: Option<&str>,
        cookie: Option<&str>,
        accept: Option<&str>,
    ) -> Lang {
        explicit
            .and_then(Lang::from_tag)
            .or_else(|| ui_locales.and_then(Lang::from_list))
            .or_else(|| cookie.and_then(Lang::from_tag))
            .or_else(|| accept.and_then(Lang::from_accept_language))
            .unwrap_or(Lang::Fr)
    }
}

type Catalogue = BTreeMap<String, String>;

/// Both catalogues, parsed once at start.
#[derive(Debug, Clone)]
pub struct Catalogues {
    fr: Catalogue,
    en: Catalogue,
}

impl Catalogues {
    pub fn load() -> Result<Catalogues, String> {
        let parse = |name: &str, text: &str| -> Result<Catalogue, String> {
            toml::from_str(text).map_err(|e| format!("templates/i18n/{name}.toml: {e}"))
        };
        // The account pages' messages live in their own files, merged in.
        let both = |name: &str, main: &str, account: &str| -> Result<Catalogue, String> {
            let mut catalogue = parse(name, main)?;
            catalogue.extend(parse(&format!("account.{name}"), account)?);
            Ok(catalogue)
        };
        Ok(Catalogues {
            fr: both(
                "fr",
                include_str!("../templates/i18n/fr.toml"),
                include_str!("../templates/i18n/account.fr.toml"),
            )?,
            en: both(
                "en",
                include_str!("../templates/i18n/en.toml"),
                include_str!("../templates/i18n/account.en.toml"),
            )?,
        })
    }

    pub fn get(&self, lang: Lang) -> &Catalogue {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }

    /// One message; the key itself if missing (a test keeps both complete).
    pub fn text<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        self.get(lang).get(key).map(String::as_str).unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let c = Catalogues::load().unwrap();
        let fr: Vec<_> = c.fr.keys().collect();
        let en: Vec<_> = c.en.keys().collect();
        assert_eq!(fr, en);
    }

    #[test]
    fn negotiation_order() {
        assert_eq!(Lang::negotiate(None, None, None, None), Lang::Fr);
        assert_eq!(
            Lang::negotiate(None, None, None, Some("de, en-GB;q=0.8, fr;q=0.5")),
            Lang::En
        );
        assert_eq!(
            Lang::negotiate(None, None, Some("fr"), Some("en")),
            Lang::Fr
        );
        assert_eq!(
            Lang::negotiate(None, Some("de en"), Some("fr"), None),
            Lang::En
        );
        assert_eq!(
            Lang::negotiate(Some("fr"), Some("en"), None, None),
            Lang::Fr
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0, fr;q=0.1"),
            Some(Lang::Fr)
        );
    }
}
