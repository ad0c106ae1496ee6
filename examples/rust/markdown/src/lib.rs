//! Markdown to HTML (CommonMark plus tables and strikethrough).

use pulldown_cmark::{Options, Parser, html};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    markdown: String,
}

#[derive(Serialize)]
struct Output {
    html: String,
}

fn render(input: Input) -> Result<Output, String> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(&input.markdown, options));
    // Shown as a rich result too, so a notebook-like client renders it.
    sandrun_guest::Display::html(&out)
        .with_text("text/markdown", &input.markdown)
        .show()
        .map_err(|e| e.to_string())?;
    Ok(Output { html: out })
}

sandrun_guest::task!(render);
