//! One headless Chromium per test, driven through chromedriver, with the
//! habits every step needs: wait for the expected page, save a screenshot,
//! run axe-core, and fail saying which step, which page, what was expected.

#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a step waits for what it expects (a page, an element, a live
/// region's words): generous, for a CI machine busy compiling beside.
pub const PATIENCE: Duration = Duration::from_secs(10);

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::processes::{CHROMIUM, Stack, axe_source};

/// The WCAG levels the city must meet (RGAA builds on them).
const AXE_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Set on a page's `window` just before a click on it. WebDriver's click
/// returns once the event is dispatched, and on a loaded machine the
/// navigation it starts may not have begun yet: the page clicked on is
/// still there, with the same heading when a form comes back with an
/// error. Every new document has a new `window`, so a page without the
/// mark is the click's answer (or a later page), never the page left.
const CLICKED_AWAY: &str = "window.__sesameE2eClickedAway";

pub struct Browser {
    pub client: Client,
    step: usize,
    artifacts: PathBuf,
}

/// Starts the processes and the browser, runs `body`, then always closes
/// the browser and stops the processes, and reports a failure as the test's.
pub async fn run<F, Fut>(test: &'static str, body: F)
where
    F: FnOnce(Arc<Stack>, Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_with(test, "", body).await
}

/// [`run`] with `portal_keys` added to the portal's client
/// ([`Stack::start_with`]).
pub async fn run_with<F, Fut>(test: &'static str, portal_keys: &str, body: F)
where
    F: FnOnce(Arc<Stack>, Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let stack = Arc::new(Stack::start_with(test, portal_keys).await);
    let profile = tempfile::tempdir().expect("browser profile folder");
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic",
                "--window-size=1280,1000", "--lang=fr-FR",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": { "intl.accept_languages": "fr-FR,fr" },
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&stack.webdriver)
        .await
        .unwrap_or_else(|e| panic!("chromedriver could not start Chromium ({CHROMIUM}): {e}"));
    let browser = Browser {
        client: client.clone(),
        step: 0,
        artifacts: stack.artifacts.clone(),
    };
    // The body runs in its own task so that a failed step still reaches
    // the clean-up below before the test fails.
    let outcome = tokio::spawn(body(stack.clone(), browser)).await;
    let _ = client.close().await;
    drop(stack);
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task: {e}");
    }
}

/// An XPath string literal for `text`.
fn xpath_literal(text: &str) -> String {
    if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

impl Browser {
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("(no URL: {e})"))
    }

    async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or(Value::Null)
    }

    /// The `h1` of the page, or `None` while it is still the page a click
    /// left (its answer has not replaced it yet).
    async fn new_heading(&self) -> Option<String> {
        let script = format!(
            "if ({CLICKED_AWAY}) return null;
             const h = document.querySelector('h1'); return h ? h.innerText : '';"
        );
        self.eval(&script).await.as_str().map(str::to_owned)
    }

    /// Whether the page is still the one a click left.
    async fn clicked_away(&self) -> bool {
        self.eval(&format!("return {CLICKED_AWAY} === true;"))
            .await
            .as_bool()
            .unwrap_or(false)
    }

    /// Marks the page about to be clicked on (see [`CLICKED_AWAY`]).
    async fn leaving(&self) {
        self.eval(&format!("{CLICKED_AWAY} = true;")).await;
    }

    pub async fn heading(&self) -> String {
        self.eval("const h = document.querySelector('h1'); return h ? h.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn body_text(&self) -> String {
        self.eval("return document.body ? document.body.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Fails the test: which step, on which page, what was expected.
    async fn fail(&self, step: &str, what: String) -> String {
        let url = self.url().await;
        let heading = self.heading().await;
        format!(
            "step {} « {step} » on {url} (page « {heading} »): {what}\nscreenshots and logs: {}",
            self.step,
            self.artifacts.display()
        )
    }

    /// Opens `url`. Never straight after a click: the click's request
    /// would race this navigation (the browser drops the answer it gets
    /// second, and the server may see them in either order); wait for the
    /// page the click leads to first, as a citizen would.
    pub async fn goto(&mut self, url: &str) {
        if self.clicked_away().await {
            let msg = self
                .fail(
                    "open",
                    format!("opening {url} before the last click's page came (expect_page first)"),
                )
                .await;
            panic!("{msg}");
        }
        if let Err(e) = self.client.goto(url).await {
            let msg = self.fail("open", format!("cannot open {url}: {e}")).await;
            panic!("{msg}");
        }
    }

    /// Waits for the page whose `h1` contains `heading` — a new page, if
    /// the last step clicked: the page clicked on never counts, even with
    /// the same heading (a form shown again with its error) — then saves
    /// its screenshot and checks it with axe-core.
    pub async fn expect_page(&mut self, step: &str, heading: &str) {
        self.step += 1;
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self
                .new_heading()
                .await
                .is_some_and(|h| h.contains(heading))
            {
                break;
            }
            if Instant::now() > deadline {
                self.screenshot(step).await;
                let still = if self.clicked_away().await {
                    " (still on the page clicked on: its answer never came)"
                } else {
                    ""
                };
                let msg = self
                    .fail(step, format!("expected a page titled « {heading} »{still}"))
                    .await;
                panic!("{msg}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(step).await;
        self.accessibility(step).await;
    }

    pub async fn expect_text(&mut self, step: &str, text: &str) {
        let body = self.body_text().await;
        if !body.contains(text) {
            let msg = self
                .fail(step, format!("expected the text « {text} »"))
                .await;
            panic!("{msg}\npage text:\n{body}");
        }
    }

    pub async fn expect_path(&mut self, step: &str, origin_and_path: &str) {
        let url = self.url().await;
        if !url.starts_with(origin_and_path) {
            let msg = self
                .fail(step, format!("expected to be at {origin_and_path}"))
                .await;
            panic!("{msg}");
        }
    }

    async fn screenshot(&self, step: &str) {
        let slug: String = step
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let path = self.artifacts.join(format!("{:02}-{slug}.png", self.step));
        match self.client.screenshot().await {
            Ok(png) => {
                let _ = std::fs::write(&path, png);
            }
            Err(e) => eprintln!("screenshot {}: {e}", path.display()),
        }
    }

    /// Runs axe-core on the page; any WCAG 2.1 A/AA violation fails.
    async fn accessibility(&mut self, step: &str) {
        let violations = self.violations().await;
        if !violations.is_empty() {
            let msg = self
                .fail(step, "WCAG 2.1 A/AA violations (axe-core):".into())
                .await;
            panic!("{msg}\n  - {}", violations.join("\n  - "));
        }
    }

    /// axe-core's WCAG 2.1 A/AA violations on the current page.
    pub async fn violations(&self) -> Vec<String> {
        let script = format!(
            "{}\n;const done = arguments[arguments.length - 1];
            axe.run(document, {{ runOnly: {{ type: 'tag', values: {tags} }}, resultTypes: ['violations'] }})
              .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + '\\n      '
                  + v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\\n/g, ' ')).join('\\n      '))))
              .catch(e => done(['axe failed: ' + e]));",
            axe_source(),
            tags = json!(AXE_TAGS),
        );
        let result = self.client.execute_async(&script, vec![]).await;
        match result {
            Ok(v) => serde_json::from_value(v).unwrap_or_else(|e| vec![format!("axe answer: {e}")]),
            Err(e) => vec![format!("cannot run axe-core: {e}")],
        }
    }

    async fn find(&mut self, step: &str, xpath: &str, what: &str) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(xpath))
            .await;
        match found {
            Ok(e) => e,
            Err(_) => {
                let msg = self.fail(step, format!("expected {what}")).await;
                panic!("{msg}");
            }
        }
    }

    pub async fn click_link(&mut self, step: &str, text: &str) {
        let xpath = format!("//a[normalize-space(.)={}]", xpath_literal(text));
        let link = self.find(step, &xpath, &format!("a link « {text} »")).await;
        self.leaving().await;
        if let Err(e) = link.click().await {
            let msg = self
                .fail(step, format!("cannot click « {text} »: {e}"))
                .await;
            panic!("{msg}");
        }
    }

    pub async fn click_button(&mut self, step: &str, text: &str) {
        let lit = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space(.)={lit}] | //input[@type='submit' and @value={lit}]"
        );
        let button = self
            .find(step, &xpath, &format!("a button « {text} »"))
            .await;
        self.leaving().await;
        if let Err(e) = button.click().await {
            let msg = self
                .fail(step, format!("cannot press « {text} »: {e}"))
                .await;
            panic!("{msg}");
        }
    }

    /// The form control whose label starts with `label`.
    async fn control(&mut self, step: &str, label: &str) -> fantoccini::elements::Element {
        let lit = xpath_literal(label);
        let xpath = format!(
            "(//input | //select | //textarea)[@id = (//label[starts-with(normalize-space(.), {lit})])[1]/@for]"
        );
        self.find(step, &xpath, &format!("a field labelled « {label} »"))
            .await
    }

    pub async fn fill(&mut self, step: &str, label: &str, value: &str) {
        let field = self.control(step, label).await;
        let ok = field.clear().await.is_ok() && field.send_keys(value).await.is_ok();
        if !ok {
            let msg = self.fail(step, format!("cannot type in « {label} »")).await;
            panic!("{msg}");
        }
    }

    /// Ticks a checkbox or chooses a radio button by its label.
    pub async fn choose(&mut self, step: &str, label: &str) {
        let field = self.control(step, label).await;
        if field.click().await.is_err() {
            let msg = self.fail(step, format!("cannot choose « {label} »")).await;
            panic!("{msg}");
        }
    }

    pub async fn value(&mut self, step: &str, label: &str) -> String {
        let field = self.control(step, label).await;
        field.prop("value").await.ok().flatten().unwrap_or_default()
    }

    /// Runs `script` in the page and returns its value (null on error).
    pub async fn script(&self, script: &str) -> Value {
        self.eval(script).await
    }

    /// Presses Tab in the focused element and returns the `id` of the
    /// element that has the focus next.
    pub async fn tab(&mut self) -> String {
        if let Ok(focused) = self.client.active_element().await {
            let _ = focused.send_keys("\u{E004}").await;
        }
        self.eval("return document.activeElement ? document.activeElement.id : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a screenshot of the page as it is now and checks it with
    /// axe-core (a page that changed without a new heading).
    pub async fn check_now(&mut self, step: &str) {
        self.step += 1;
        self.screenshot(step).await;
        self.accessibility(step).await;
    }

    pub async fn html_lang(&self) -> String {
        self.eval("return document.documentElement.lang;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Forgets every cookie of the page's site (WebDriver reaches only the
    /// current site's cookies).
    pub async fn forget_cookies_of(&mut self, url: &str) {
        self.goto(url).await;
        let _ = self.client.delete_all_cookies().await;
    }
}
