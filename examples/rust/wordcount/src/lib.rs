//! Word frequencies of a text: the `top` most frequent words, lower-cased.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    text: String,
    #[serde(default = "ten")]
    top: usize,
}

fn ten() -> usize {
    10
}

#[derive(Serialize)]
struct Output {
    total_words: usize,
    distinct_words: usize,
    top: Vec<(String, usize)>,
}

fn count(input: Input) -> Result<Output, String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut total = 0;
    for word in input
        .text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_default() += 1;
        total += 1;
    }
    sandrun_guest::log(
        sandrun_guest::Level::Info,
        &format!("{total} words, {} distinct", counts.len()),
    )
    .map_err(|e| e.to_string())?;
    let distinct = counts.len();
    let mut top: Vec<(String, usize)> = counts.into_iter().collect();
    // Most frequent first; ties in alphabetical order, so output is stable.
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(input.top);
    Ok(Output {
        total_words: total,
        distinct_words: distinct,
        top,
    })
}

sandrun_guest::task!(count);
