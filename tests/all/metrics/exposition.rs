//! Prometheus's text exposition format, read as a scraper reads it: every
//! sample with its labels, and each family's `# TYPE`. Strict: a line it
//! cannot read fails the test, so a malformed exposition cannot pass.

use std::collections::BTreeMap;

use crate::app::TestApp;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug)]
pub struct Exposition {
    pub text: String,
    pub samples: Vec<Sample>,
    /// Each family's type, by name.
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                types.insert(name.to_owned(), kind.to_owned());
            } else if !line.starts_with('#') {
                samples.push(sample(line));
            }
        }
        Exposition {
            text: text.to_owned(),
            samples,
            types,
        }
    }

    /// The sum of the samples named `name` that carry every label in `with`.
    pub fn value(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.matching(name, with).map(|s| s.value).sum()
    }

    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        with: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

/// `name{label="value",...} value`, labels optional.
fn sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("{line}"));
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        while !rest.starts_with('}') {
            let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars
                    .next()
                    .unwrap_or_else(|| panic!("unclosed label: {line}"))
                {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(c @ ('\\' | '"')) => value.push(c),
                        other => panic!("bad escape {other:?}: {line}"),
                    },
                    (_, c) => value.push(c),
                }
            };
            labels.insert(key.to_owned(), value);
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        rest = &rest[1..];
    }
    let value = rest.trim().split(' ').next().unwrap_or_default();
    let value = value
        .parse()
        .unwrap_or_else(|e| panic!("value `{value}`: {e}: {line}"));
    Sample {
        name,
        labels,
        value,
    }
}

/// `GET /metrics` at `base` (with `key` as the bearer key, if any),
/// answered 200 in the text format, parsed.
pub async fn scrape_at(http: &reqwest::Client, base: &str, key: Option<&str>) -> Exposition {
    let mut request = http.get(format!("{base}/metrics"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(media.starts_with("text/plain; version=0.0.4"), "{media}");
    Exposition::parse(&response.text().await.unwrap())
}

/// The metrics `app` serves on its API's port, without a key.
pub async fn scrape(app: &TestApp) -> Exposition {
    scrape_at(&app.http, &app.address, None).await
}
