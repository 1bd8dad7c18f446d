//! The approver inbox (`/ui/`) in a real browser: headless Chromium driven over WebDriver by
//! chromedriver (Debian's `chromium` and `chromium-driver`), from Rust with the server's own
//! blocking HTTP client — no browser library and no Python in between, and the server runs
//! in-process on the test's clock. An approver signs in with a token, sees the pending
//! request with its explanation (the agent's text shown as text, never as markup), approves it
//! with a comment, and the agent's resumed request is then allowed; an unrelated approver sees
//! nothing.
//!
//! Without Chromium or chromedriver the tests fail under `WARD_TEST_EXTERNAL=require` (as
//! `scripts/test.sh` sets it), saying how to get them, and are skipped otherwise.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::*;
use ward_server::client::Client;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both stop when dropped.
struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

fn missing(why: &str) -> Option<Browser> {
    let message = format!(
        "{why}: install Debian's `chromium` and `chromium-driver` (scripts/setup.sh does, from scripts/apt-packages.txt)"
    );
    if std::env::var("WARD_TEST_EXTERNAL").as_deref() == Ok("require") {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    None
}

/// Starts chromedriver on a free port and waits until it says it is ready (WebDriver's
/// `GET /status`). `None` when it exits first or is not ready within 30 s: the port, free when
/// picked, may have been taken by another test's server meanwhile, and whatever answers on it
/// then is not chromedriver (the caller tries another port).
fn start_driver(driver: &str) -> Option<(Child, SocketAddr)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(driver)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut client = Client::new(addr).with_timeout(Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return None;
        }
        let ready = client
            .request("GET", "/status", &[], None)
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json().ok())
            .is_some_and(|doc| doc["value"]["ready"] == json!(true));
        if ready {
            return Some((child, addr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

impl Browser {
    fn start() -> Option<Browser> {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).is_file());
        let driver = ["/usr/bin/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).is_file());
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            return missing("Chromium or chromedriver is not installed");
        };
        let (child, addr) = (0..5)
            .find_map(|_| start_driver(driver))
            .expect("chromedriver started on none of 5 ports");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1200,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut browser = Browser {
            driver: child,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", "/session", Some(caps));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Some(browser)
    }

    fn client(&self) -> Client {
        Client::new(self.addr).with_timeout(Duration::from_secs(60))
    }

    /// One WebDriver command; its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        match self.try_call(method, path, body) {
            Ok(value) => value,
            Err(doc) => panic!("{method} {path}: {doc}"),
        }
    }

    /// One WebDriver command: its `value`, or the error document when it failed.
    fn try_call(&self, method: &str, path: &str, body: Option<Json>) -> Result<Json, Json> {
        let body = body.map(|b| b.to_string());
        let response = self
            .client()
            .request(
                method,
                path,
                &[("content-type", "application/json")],
                body.as_deref().map(str::as_bytes),
            )
            .unwrap();
        let doc = response.json().unwrap();
        if response.status == 200 {
            Ok(doc["value"].clone())
        } else {
            Err(doc)
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.path("/url"), Some(json!({"url": url})));
    }

    /// The elements matching `css`, now.
    fn all(&self, css: &str) -> Vec<String> {
        let found = self.call(
            "POST",
            &self.path("/elements"),
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    /// The first element matching `css`, waiting for it.
    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(e) = self.all(css).into_iter().next() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no `{css}` on the page:\n{}",
                self.body_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, element: &str) -> String {
        self.call("GET", &self.path(&format!("/element/{element}/text")), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn type_in(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &self.path(&format!("/element/{element}/value")),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, element: &str) {
        self.call(
            "POST",
            &self.path(&format!("/element/{element}/click")),
            Some(json!({})),
        );
    }

    fn script(&self, script: &str) -> Json {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    fn body_text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Waits until `css`'s text contains `text`.
    fn wait_text(&self, css: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let e = self.find(css);
            // The page re-renders its lists when it refreshes: an element found just before
            // may be gone by the time its text is asked ("stale element reference"); look again.
            let shown = self
                .try_call("GET", &self.path(&format!("/element/{e}/text")), None)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            if shown.is_some_and(|t| t.contains(text)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never said `{text}`:\n{}",
                self.body_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sign_in(&self, base: &str, token: &str) {
        self.go(&format!("{base}/ui/"));
        let input = self.find("#token");
        self.type_in(&input, token);
        self.click(&self.find("#sign-in"));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ =
                self.client()
                    .request("DELETE", &format!("/session/{}", self.session), &[], None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const XSS: &str = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>";

#[test]
fn an_approver_signs_in_approves_and_the_resumed_request_is_allowed() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let a = start_approvals(&Backend::Sqlite, |_, _| {});
    let base = format!("http://{}", a.fx.server().local_addr());
    // db-2 belongs to `lead`, who is on call: one approval covers both rules. The agent
    // controls the note, which the policy's message repeats.
    let request = json!({"action": "reboot", "args": {"host": "db-2", "note": XSS}, "context": {"agent": "patchbot"}});
    let (_, doc) = decide(&mut a.client("remediation-bot"), &request);
    let id = doc["approval"]["id"].as_str().unwrap().to_owned();

    browser.sign_in(&base, &a.tokens["lead"]);
    let card = format!("article[data-id=\"{id}\"]");
    browser.wait_text(&format!("{card} .needs"), "db-2 is production: <img src=x");
    browser.wait_text("#who", "signed in as lead");
    let shown = browser.text(&browser.find(&format!("{card} .needs")));
    assert!(shown.contains("db-2 belongs to lead"), "{shown}");
    assert!(shown.contains("waiting for oncall"), "{shown}");
    assert!(
        browser
            .text(&browser.find(&format!("{card} .args")))
            .contains("<script>window.pwned=2</script>")
    );
    // The agent's markup is text: no element came from it, and nothing ran.
    assert_eq!(
        browser.script("return document.querySelectorAll('#list img, #list script').length;"),
        json!(0)
    );
    assert_eq!(
        browser.script("return typeof window.pwned;"),
        json!("undefined")
    );
    // The token is in this tab's storage, not in a cookie.
    assert_eq!(browser.script("return document.cookie;"), json!(""));
    assert_eq!(
        browser.script("return sessionStorage.getItem('ward.token');"),
        json!(a.tokens["lead"])
    );

    browser.type_in(
        &browser.find(&format!("{card} textarea.comment")),
        "CAB-77, both hats",
    );
    browser.click(&browser.find(&format!("{card} button.approve")));
    browser.wait_text(&format!("{card} .result"), "Approved.");
    let approval = get(&mut a.client("root"), &format!("/v1/approvals/{id}")).1;
    assert_eq!(approval["status"], "approved");
    assert_eq!(approval["history"][1]["by"], "lead");
    assert_eq!(approval["history"][1]["comment"], "CAB-77, both hats");

    // The agent resumes: allowed.
    let (_, doc) = decide(&mut a.client("remediation-bot"), &resume(&request, &id));
    assert_eq!(doc["decision"], "allow", "{doc}");
    // The history shows it used.
    browser.click(&browser.find("#tab-history"));
    browser.wait_text(&format!("{card} .badge"), "used");
    // Signing out forgets the token.
    browser.click(&browser.find("#sign-out"));
    assert_eq!(
        browser.script("return sessionStorage.getItem('ward.token');"),
        Json::Null
    );
}

#[test]
fn an_unrelated_approver_sees_nothing() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let a = start_approvals(&Backend::Sqlite, |_, _| {});
    let base = format!("http://{}", a.fx.server().local_addr());
    decide(&mut a.client("remediation-bot"), &prod_reboot("kernel"));
    browser.sign_in(&base, &a.tokens["dave"]);
    browser.wait_text("#who", "signed in as dave");
    browser.wait_text("#empty", "No pending approvals name you.");
    assert!(browser.all("article.approval").is_empty());
    browser.click(&browser.find("#tab-history"));
    browser.wait_text("#empty", "No approvals yet.");
    assert!(browser.all("article.approval").is_empty());
    // A wrong token is refused and the page says so.
    browser.click(&browser.find("#sign-out"));
    let input = browser.find("#token");
    browser.type_in(&input, "ward_not_a_token");
    browser.click(&browser.find("#sign-in"));
    browser.wait_text("#sign-in-error", "The token was not accepted");
}

#[test]
fn the_page_is_served_with_a_strict_policy() {
    let a = start_approvals(&Backend::Sqlite, |_, _| {});
    let mut client = a.fx.client();
    for path in ["/ui/", "/ui/app.js", "/ui/style.css"] {
        let r = client.get(path).unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-security-policy"),
            Some(ward_server::ui::CSP)
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.header("set-cookie").is_none());
    }
    assert!(ward_server::ui::CSP.contains("script-src 'self'"));
    assert!(!ward_server::ui::CSP.contains("unsafe"));
    let r = client.get("/ui").unwrap();
    assert_eq!((r.status, r.header("location")), (308, Some("/ui/")));
    assert_eq!(client.get("/ui/../v1/status").unwrap().status, 404);
    assert_eq!(client.get("/ui/secret.txt").unwrap().status, 404);
    // The page never writes request text as markup.
    let js = String::from_utf8(client.get("/ui/app.js").unwrap().body).unwrap();
    for banned in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!js.contains(banned), "app.js uses {banned}");
    }
}
