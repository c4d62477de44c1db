//! Headless Chromium driven through chromedriver (WebDriver), both from
//! Debian's packages (scripts/test installs them).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::common;
use super::http;

fn program(variable: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var(variable).map_or_else(|_| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: install Debian's {package} (scripts/test does) or set {variable}",
        path.display()
    );
    path
}

/// A browser session; chromedriver is stopped when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_addr: String,
    session: String,
}

impl Browser {
    /// A 1366×768 headless Chromium.
    pub async fn start() -> Browser {
        let chromium = program("PANOPTIC_CHROMIUM", "/usr/bin/chromium", "chromium");
        let chromedriver = program(
            "PANOPTIC_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromium-driver",
        );
        let port = common::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver");
        let driver_addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&driver_addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = common::temp_dir("chromium-profile");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1366,768",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        // The browser's console, read back through chromedriver's log.
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{driver_addr}"))
            .await
            .expect("a WebDriver session");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        Browser {
            client,
            driver,
            driver_addr,
            session,
        }
    }

    /// Console messages of level SEVERE (errors, refused scripts, CSP
    /// violations, failed loads) since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        let response = http::request(
            "POST",
            &self.driver_addr,
            &format!("/session/{}/se/log", self.session),
            &[("Content-Type", "application/json")],
            r#"{"type":"browser"}"#,
        );
        assert_eq!(response.status, 200, "browser log: {}", response.body);
        response.json()["value"]
            .as_array()
            .expect("log entries")
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Clicks the element `locator` finds. The page redraws on its
    /// refresh, so an element found may be replaced before the click
    /// lands: found again then, a few times.
    pub async fn click(&self, locator: fantoccini::Locator<'_>) {
        for attempt in 1..=5 {
            let clicked = self.client.find(locator).await.unwrap().click().await;
            match clicked {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && attempt < 5 => {}
                Err(e) => panic!("click failed: {e}"),
            }
        }
    }

    /// Runs `script` (a function body) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns `true`, up to `limit`; returns how long
    /// it took.
    pub async fn until(&self, limit: Duration, script: &str) -> Duration {
        let start = Instant::now();
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "not true within {limit:?}: {script}\npage: {}",
                self.eval("return document.body.innerText").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens `url` and waits for the page to finish its first render.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
        self.until(
            Duration::from_secs(20),
            "return document.body.dataset.state === 'ready'",
        )
        .await;
    }

    /// The `textContent` of every element matching `selector`.
    pub async fn texts(&self, selector: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self
            .client
            .find_all(Locator::Css(selector))
            .await
            .expect("find")
        {
            texts.push(
                element
                    .prop("textContent")
                    .await
                    .expect("textContent")
                    .unwrap_or_default(),
            );
        }
        texts
    }

    /// Saves a PNG of the window to `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
        // Drop stops chromedriver.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed assertion too: ending the session stops Chromium,
        // which killing chromedriver alone would leave running.
        if self.driver.try_wait().ok().flatten().is_none() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                http::request(
                    "DELETE",
                    &self.driver_addr,
                    &format!("/session/{}", self.session),
                    &[],
                    "",
                )
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/screenshots`, beside the test binary's `debug` folder.
fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    // target/debug/deps/serve-HASH
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), |t| t.to_path_buf())
        .join("screenshots")
}
