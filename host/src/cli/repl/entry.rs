//! When a REPL entry is complete, the way Python's own REPL sees it: a line
//! ending in `:`, an indented line or a decorator opens a block that a blank
//! line ends; an open bracket, triple-quoted string or trailing backslash
//! wants more whatever comes next. The lines are scanned, not parsed: code
//! the server cannot compile comes back as its `SyntaxError`.

/// Whether the entry made of `lines` so far wants another line.
pub fn wants_more(lines: &[String]) -> bool {
    let mut scan = Scan::default();
    let mut block = false;
    for line in lines {
        let free = scan.is_free();
        let trimmed = line.trim_start();
        if free && !trimmed.is_empty() && (trimmed.len() < line.len() || trimmed.starts_with('@')) {
            block = true;
        }
        if scan.line(line) == Some(':') && scan.is_free() {
            block = true;
        }
    }
    let ended = lines.last().is_some_and(|l| l.trim().is_empty());
    !scan.is_free() || (block && !ended)
}

/// Where a scan of Python source stands at the end of a line.
#[derive(Debug, Default)]
struct Scan {
    /// Brackets open.
    depth: usize,
    /// The quote of the triple-quoted string left open.
    triple: Option<char>,
    /// The line ended with a backslash outside a string.
    continued: bool,
}

impl Scan {
    /// Nothing is left open: a new line starts a new statement.
    fn is_free(&self) -> bool {
        self.depth == 0 && self.triple.is_none() && !self.continued
    }

    /// Scan one line; answers its last character outside strings and
    /// comments, if any.
    fn line(&mut self, line: &str) -> Option<char> {
        let chars: Vec<char> = line.chars().collect();
        let tripled = |i: usize, q: char| chars.get(i..i + 3) == Some(&[q, q, q]);
        let mut last = None;
        let mut single = None;
        let mut i = 0;
        self.continued = false;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            if let Some(q) = self.triple.or(single) {
                match c {
                    '\\' => i += 1,
                    _ if self.triple == Some(q) && tripled(i - 1, q) => {
                        self.triple = None;
                        i += 2;
                    }
                    _ if single == Some(q) && c == q => single = None,
                    _ => {}
                }
                last = Some(q);
                continue;
            }
            match c {
                '#' => break,
                '\'' | '"' if tripled(i - 1, c) => {
                    self.triple = Some(c);
                    i += 2;
                }
                '\'' | '"' => single = Some(c),
                '(' | '[' | '{' => self.depth += 1,
                ')' | ']' | '}' => self.depth = self.depth.saturating_sub(1),
                '\\' if i == chars.len() => self.continued = true,
                _ => {}
            }
            if !c.is_whitespace() {
                last = Some(c);
            }
        }
        last
    }
}
