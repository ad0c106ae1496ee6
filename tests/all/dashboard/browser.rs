//! A real Chromium, headless, driven over WebDriver by chromedriver
//! (Debian's `chromium` and `chromium-driver`, which `.ci/run` installs).
//! One chromedriver serves the whole test binary; each test opens a
//! browser of its own, with a fresh profile, and closes it when done.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a page gets to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

struct Driver {
    url: String,
    _process: Child,
}

/// chromedriver's address, started on first use; `None` (the test skips)
/// where Chromium is not installed, except in CI, where it must be.
fn driver() -> Option<&'static str> {
    static DRIVER: OnceLock<Option<Driver>> = OnceLock::new();
    let driver = DRIVER.get_or_init(|| {
        let installed =
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install chromium and chromium-driver"
            );
            eprintln!("skipping: {CHROMEDRIVER} or {CHROMIUM} is not installed");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = spawn_for_good(port);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Driver {
            url: format!("http://127.0.0.1:{port}"),
            _process: process,
        })
    });
    driver.as_ref().map(|d| d.url.as_str())
}

/// Start chromedriver on `port`, to die with the test binary. The kernel
/// signals a child when the *thread* that started it ends, so it is started
/// from a thread that never does.
fn spawn_for_good(port: u16) -> Child {
    let (started, child) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        started
            .send(command.spawn().expect("chromedriver starts"))
            .unwrap();
        loop {
            std::thread::park();
        }
    });
    child.recv().unwrap()
}

/// One headless browser.
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new browser, or `None` where Chromium is not installed.
    pub async fn open() -> Option<Browser> {
        Self::open_with(&[]).await
    }

    /// A new browser with extra Chromium flags (`--force-dark-mode`...).
    pub async fn open_with(flags: &[&str]) -> Option<Browser> {
        let driver = driver()?;
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,960".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(driver)
            .await
            .expect("a browser session opens");
        Some(Browser {
            client,
            _profile: profile,
        })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    /// Run `script` (a function body) in the page: what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Wait until `script` returns something truthy: that value.
    pub async fn until(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(script).await;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if started.elapsed() > PATIENCE {
                let page = self.eval("return document.body.innerText").await;
                panic!(
                    "waited {PATIENCE:?} for {what}; the page shows:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the text of `selector` contains `expected`.
    pub async fn until_text(&self, selector: &str, expected: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.textContent.includes({})",
            json!(selector),
            json!(expected)
        );
        self.until(&format!("`{selector}` to show {expected:?}"), &script)
            .await;
    }

    /// Click the first element `selector` picks, once there is one; if the
    /// page replaced it between finding and clicking, the new one.
    pub async fn click(&self, selector: &str) {
        let script = format!("return !!document.querySelector({})", json!(selector));
        for tries_left in (0..3).rev() {
            self.until(&format!("`{selector}`"), &script).await;
            let clicked = match self.client.find(fantoccini::Locator::Css(selector)).await {
                Ok(element) => element.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(e) if tries_left > 0 && e.to_string().contains("stale") => {}
                Err(e) => panic!("clicking {selector}: {e}"),
            }
        }
    }

    /// Type `text` into the field `selector` picks, replacing what it held.
    pub async fn type_into(&self, selector: &str, text: &str) {
        let field = self
            .client
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// The console's errors so far (and the page's uncaught exceptions).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("the browser's log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// What axe-core (the accessibility engine, from npm: `.ci/run`
    /// installs it) finds against WCAG 2.1 A and AA on the page as it is:
    /// one line per rule broken, with the first places it is broken.
    /// Empty, with a note, where axe-core is not installed outside CI.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = std::env::var_os("SANDRUN_TEST_AXE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/sandrun/npm/node_modules/axe-core/axe.min.js")
            });
        let Ok(axe) = std::fs::read_to_string(&path) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install axe-core at {}",
                path.display()
            );
            eprintln!(
                "skipping the accessibility check: no axe-core at {}",
                path.display()
            );
            return Vec::new();
        };
        self.eval(&format!("{axe}\n;window.axe = axe; return true"))
            .await;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                   .then(r => done(r.violations.map(v => `${v.id}: ${v.help} at ` +
                       v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done([`axe failed: ${e}`]));",
                Vec::new(),
            )
            .await
            .expect("axe runs");
        serde_json::from_value(found).expect("a list of violations")
    }

    /// Save what the page shows as `<test target dir>/dashboard/<name>.png`,
    /// for a person to look at.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// chromedriver's own command for the browser's console log.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}
