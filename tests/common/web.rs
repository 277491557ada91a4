//! The HTTP clients tests drive Sésame with (a browser that keeps cookies,
//! a relying party without them; neither follows redirects, so each step
//! is seen) and readers for the pages they get back.

use reqwest::redirect::Policy;

/// A browser: cookies kept, redirects not followed.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// An HTTP client for relying parties (no cookies, no redirects).
pub fn rp_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The `Location` of a redirect, or a failure naming the status.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location in a {} answer", response.status()))
        .to_str()
        .expect("an ASCII Location")
        .to_owned()
}

/// A page's text with the HTML escapes minijinja uses undone.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("a closing quote") + start;
    unescape(&html[start..end])
}

/// GETs `url` in `browser` and returns the page's text.
pub async fn text_of(browser: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    browser
        .get(url)
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body")
}
