//! As little as a WASI command can do and still show it ran.

fn main() {
    println!("hello from wasm");
}
