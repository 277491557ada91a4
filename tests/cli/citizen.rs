//! A citizen's steps through the pages of a served instance: signing in,
//! posting a form with its page's CSRF token, and starting the second
//! factor's enrolment with the key read off the page as text.

use crate::common::web::{browser, hidden, location, text_of, unescape};
use crate::process::Instance;

/// The second factor's page, and where its first right code is posted.
pub const TOTP: &str = "/account/security/totp";
pub const CONFIRM: &str = "/account/security/totp/confirm";

/// Signs in on the bare login page in a new browser; returns it.
pub async fn signed_in(sesame: &Instance, email: &str, password: &str) -> reqwest::Client {
    let b = browser();
    let html = text_of(&b, sesame.url("/login")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
        ("password", password.to_owned()),
    ];
    let answer = b
        .post(sesame.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&answer), "/");
    b
}

/// Posts `form` and the CSRF token of the page at `page` to `to`.
pub async fn post(
    sesame: &Instance,
    b: &reqwest::Client,
    page: &str,
    to: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let html = text_of(b, sesame.url(page)).await;
    let csrf = hidden(&html, "csrf");
    let form = [form, &[("csrf", csrf.as_str())]].concat();
    b.post(sesame.url(to)).form(&form).send().await.unwrap()
}

/// « Activer » on the second factor's page: the key shown as text, in
/// groups of four (the factor turns on with a right code at [`CONFIRM`]).
pub async fn enrolment_key(sesame: &Instance, b: &reqwest::Client) -> String {
    let shown = post(sesame, b, TOTP, "/account/security/totp/enrol", &[]).await;
    assert_eq!(shown.status(), 200);
    let shown = unescape(&shown.text().await.unwrap());
    let marker = "id=\"totp-key\" class=\"totp-key\"";
    let at = shown
        .find(marker)
        .unwrap_or_else(|| panic!("no key in:\n{shown}"));
    let code = &shown[at..];
    let text = &code[code.find('>').unwrap() + 1..code.find("</code>").unwrap()];
    text.to_owned()
}
