//! Server-rendered pages: minijinja templates embedded in the binary and
//! compiled once, strict about undefined values, French and English. The
//! HTTP layer turns what they render into responses (`http::pages`).

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::i18n::{Catalogues, Lang};

/// Every template, embedded at build time.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("message.html", include_str!("../templates/message.html")),
    (
        "form_post.html",
        include_str!("../templates/form_post.html"),
    ),
    ("logout.html", include_str!("../templates/logout.html")),
    ("mfa.html", include_str!("../templates/mfa.html")),
    // — comptes; `_form.html` holds macros only.
    ("_form.html", include_str!("../templates/_form.html")),
    (
        "_strength.html",
        include_str!("../templates/_strength.html"),
    ),
    ("signup.html", include_str!("../templates/signup.html")),
    ("forgot.html", include_str!("../templates/forgot.html")),
    ("reset.html", include_str!("../templates/reset.html")),
    ("activate.html", include_str!("../templates/activate.html")),
    (
        "form_message.html",
        include_str!("../templates/form_message.html"),
    ),
    // — « Mon compte »; `account/_fields.html` holds macros only.
    (
        "account/layout.html",
        include_str!("../templates/account/layout.html"),
    ),
    (
        "account/_fields.html",
        include_str!("../templates/account/_fields.html"),
    ),
    (
        "account/overview.html",
        include_str!("../templates/account/overview.html"),
    ),
    (
        "account/message.html",
        include_str!("../templates/account/message.html"),
    ),
    (
        "account/profile.html",
        include_str!("../templates/account/profile.html"),
    ),
    (
        "account/email.html",
        include_str!("../templates/account/email.html"),
    ),
    (
        "account/reauth.html",
        include_str!("../templates/account/reauth.html"),
    ),
    (
        "account/security.html",
        include_str!("../templates/account/security.html"),
    ),
    (
        "account/totp.html",
        include_str!("../templates/account/totp.html"),
    ),
    (
        "account/totp_enrol.html",
        include_str!("../templates/account/totp_enrol.html"),
    ),
    (
        "account/recovery_codes.html",
        include_str!("../templates/account/recovery_codes.html"),
    ),
    (
        "account/sessions.html",
        include_str!("../templates/account/sessions.html"),
    ),
    (
        "account/applications.html",
        include_str!("../templates/account/applications.html"),
    ),
    (
        "account/data.html",
        include_str!("../templates/account/data.html"),
    ),
];

/// Every template compiled, with the catalogues they read their text from.
pub struct Pages {
    env: Environment<'static>,
    catalogues: Catalogues,
    values: [Value; 2],
    /// Where the pages' stylesheet is served (a path of the HTTP layer).
    stylesheet: &'static str,
}

/// A link to the same page in another language.
#[derive(Serialize)]
struct LangLink {
    code: &'static str,
    label: &'static str,
    href: String,
    current: bool,
}

impl Pages {
    /// Compiles every template; `stylesheet` is the path the pages link to.
    pub fn new(stylesheet: &'static str) -> Result<Pages, String> {
        Pages::served_under(stylesheet, "")
    }

    /// [`Pages::new`] for pages served under `base` (the issuer's path,
    /// such as `/sesame`): the templates' `local` filter puts it in front
    /// of every link of Sésame's own (a value starting with one `/`).
    pub fn served_under(stylesheet: &'static str, base: &str) -> Result<Pages, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let base = base.to_owned();
        env.add_filter("local", move |path: String| -> String {
            if path.starts_with('/') && !path.starts_with("//") {
                format!("{base}{path}")
            } else {
                path
            }
        });
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        let catalogues = Catalogues::load()?;
        let values = [Lang::Fr, Lang::En].map(|l| Value::from(Serde(catalogues.get(l))));
        Ok(Pages {
            env,
            catalogues,
            values,
            stylesheet,
        })
    }

    pub fn text(&self, lang: Lang, key: &'static str) -> String {
        self.catalogues.text(lang, key).to_owned()
    }

    /// Renders `template` with `page` as its context. `here` is the page's
    /// own path and query (without `lang`), for the language links.
    pub fn render_string(
        &self,
        template: &str,
        lang: Lang,
        here: &str,
        page: impl Serialize,
    ) -> Result<String, minijinja::Error> {
        let sep = if here.contains('?') { '&' } else { '?' };
        let links: Vec<LangLink> = Lang::ALL
            .iter()
            .map(|&l| LangLink {
                code: l.code(),
                label: match l {
                    Lang::Fr => "Français",
                    Lang::En => "English",
                },
                href: format!("{here}{sep}lang={}", l.code()),
                current: l == lang,
            })
            .collect();
        let t = match lang {
            Lang::Fr => &self.values[0],
            Lang::En => &self.values[1],
        };
        let ctx = context! {
            t => t,
            lang => lang.code(),
            lang_links => Value::from(Serde(links)),
            stylesheet => self.stylesheet,
            ..Value::from(Serde(page))
        };
        self.env.get_template(template)?.render(ctx)
    }
}
