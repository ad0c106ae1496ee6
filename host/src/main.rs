fn main() -> std::process::ExitCode {
    sandrun::cli::main()
}
