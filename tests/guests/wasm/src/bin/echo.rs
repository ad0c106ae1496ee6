//! Shows the test what the sandbox gave it.

use std::io::{Read, Write};

fn main() {
    let mut out = std::io::stdout().lock();
    let args: Vec<String> = std::env::args().collect();
    writeln!(out, "args: {}", args.join(" ")).unwrap();
    let mut env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    env.sort();
    writeln!(out, "env: {}", env.join(" ")).unwrap();
    let mut stdin = String::new();
    std::io::stdin().read_to_string(&mut stdin).unwrap();
    writeln!(out, "stdin: {stdin}").unwrap();
    let mut inputs: Vec<String> = match std::fs::read_dir("/input") {
        Ok(dir) => dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(e) => vec![format!("error {e}")],
    };
    inputs.sort();
    writeln!(out, "input: {}", inputs.join(" ")).unwrap();
    eprintln!("to stderr");
    let code = std::env::var("EXIT_CODE").ok().and_then(|c| c.parse().ok()).unwrap_or(0);
    std::process::exit(code);
}
