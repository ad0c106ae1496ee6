use std::io::Write;
use std::process::Command;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use sandrun::configuration::{ConfigError, Database, ServeArgs, Settings};
use sandrun::telemetry::LogFormat;

use crate::support::home;

/// `sandrun serve`'s command line, parsed as the binary parses it (the
/// variables of this process included).
#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    args: ServeArgs,
}

/// The settings that `line`, as flags of `sandrun serve`, gives.
fn load(line: &[&str]) -> Result<Settings, ConfigError> {
    let args = Serve::try_parse_from(std::iter::once("serve").chain(line.iter().copied()));
    Settings::load(&args.unwrap().args, &home())
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

#[test]
fn the_defaults_serve_sqlite_on_loopback() {
    let settings = Settings::load(&ServeArgs::default(), &home()).unwrap();
    assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(
        settings.database,
        Database::Sqlite(home().root().join("sandrun.db"))
    );
    assert_eq!(settings.retention.as_secs(), 7 * 86400);
    assert!(settings.slots >= 1);
}

#[test]
fn a_public_address_needs_api_keys_or_an_explicit_opt_out() {
    let public = ServeArgs {
        bind: Some("0.0.0.0:8080".parse().unwrap()),
        ..ServeArgs::default()
    };
    let err = Settings::load(&public, &home()).unwrap_err().to_string();
    assert!(
        err.contains("--api-key") && err.contains("--insecure-no-auth"),
        "{err}"
    );
    let keyed = ServeArgs {
        api_keys: vec!["k".into()],
        ..public.clone()
    };
    assert!(Settings::load(&keyed, &home()).is_ok());
    let open = ServeArgs {
        insecure_no_auth: true,
        ..public
    };
    assert!(Settings::load(&open, &home()).is_ok());
}

#[test]
fn the_config_file_fills_in_and_flags_win() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "slots = 3\nretention = \"2h\"\ndatabase_url = \"sqlite:///tmp/x.db\"\n[limits.default]\ntimeout_ms = 5000\n[limits.maximum]\ntimeout_ms = 10000"
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(file.path().to_owned()),
        slots: Some(5),
        ..ServeArgs::default()
    };
    let settings = Settings::load(&args, &home()).unwrap();
    assert_eq!(settings.slots, 5);
    assert_eq!(settings.retention.as_secs(), 7200);
    assert_eq!(settings.database, Database::Sqlite("/tmp/x.db".into()));
    assert_eq!(
        (
            settings.limits.defaults.timeout_ms,
            settings.limits.maximum.timeout_ms
        ),
        (5000, 10000)
    );
}

#[test]
fn bad_settings_are_clear_errors() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "slot = 3").unwrap();
    let args = ServeArgs {
        config: Some(file.path().to_owned()),
        ..ServeArgs::default()
    };
    let err = Settings::load(&args, &home()).unwrap_err().to_string();
    assert!(err.contains("unknown field `slot`"), "{err}");
    assert!(
        err.starts_with(&format!("config file {}:", file.path().display())),
        "{err}"
    );
    assert!(err.contains("expected one of `bind`"), "{err}");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[limits.default]\ntimeout_ms = 9999999999").unwrap();
    let args = ServeArgs {
        config: Some(file.path().to_owned()),
        ..ServeArgs::default()
    };
    let err = Settings::load(&args, &home()).unwrap_err().to_string();
    assert!(err.starts_with("limits.default: timeout"), "{err}");

    let err = Settings::load(
        &ServeArgs {
            database_url: Some("mysql://x".into()),
            ..ServeArgs::default()
        },
        &home(),
    );
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("expected sqlite://PATH or postgres://")
    );
    let err = Settings::load(
        &ServeArgs {
            slots: Some(0),
            ..ServeArgs::default()
        },
        &home(),
    );
    assert_eq!(err.unwrap_err().to_string(), "slots: must be at least 1");
}

#[test]
fn the_pre_import_list_comes_from_flags_or_file_and_reaches_the_workers() {
    let defaults = Settings::load(&ServeArgs::default(), &home()).unwrap();
    assert_eq!(defaults.pre_import, None, "the runtime's own list");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "pre_import = [\"json\", \"xml.dom\"]").unwrap();
    let from_file = ServeArgs {
        config: Some(file.path().to_owned()),
        ..ServeArgs::default()
    };
    let settings = Settings::load(&from_file, &home()).unwrap();
    let expected = Some(vec!["json".to_owned(), "xml.dom".to_owned()]);
    assert_eq!(settings.pre_import, expected);
    let workers = settings.workers.expect("workers by default");
    assert_eq!(workers.pre_import, expected);

    let none = ServeArgs {
        pre_import: Some(vec![String::new()]),
        ..from_file
    };
    assert_eq!(
        Settings::load(&none, &home()).unwrap().pre_import,
        Some(vec![]),
        "the flag wins, and \"\" imports nothing"
    );

    let bad = ServeArgs {
        pre_import: Some(vec!["numpy".into(), "os; import evil".into()]),
        ..ServeArgs::default()
    };
    assert_eq!(
        Settings::load(&bad, &home()).unwrap_err().to_string(),
        "pre_import: `os; import evil` is not a Python module name"
    );
}

#[test]
fn a_setting_given_everywhere_takes_the_flag_then_the_variable_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let config = config_file(&format!("database_url = \"{}\"\n", url("file.db")));
    let config = config.path().to_str().unwrap();
    // `migrate` makes the database the merged settings name, and exits.
    let migrate = |flags: &[&str], variable: Option<String>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sandrun"));
        command
            .arg("migrate")
            .args(flags)
            .env("SANDRUN_HOME", dir.path())
            .env("SANDRUN_CONFIG", config)
            .env_remove("SANDRUN_DATABASE_URL");
        if let Some(url) = variable {
            command.env("SANDRUN_DATABASE_URL", url);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    let made = |name: &str| dir.path().join(name).exists();

    migrate(&[], None);
    assert!(made("file.db"), "the file fills in");
    migrate(&[], Some(url("variable.db")));
    assert!(made("variable.db"), "the variable beats the file");
    migrate(&["--database-url", &url("flag.db")], Some(url("other.db")));
    assert!(made("flag.db"), "the flag beats both");
    assert!(!made("other.db"));
}

#[test]
fn the_settings_once_file_only_take_flags_too() {
    let file = config_file("max_wait = \"2m\"\nmax_body_bytes = 1000\ndefault_max_attempts = 2\n");
    let path = file.path().to_str().unwrap();
    let settings = load(&[
        "--config",
        path,
        "--max-wait",
        "5s",
        "--max-module-bytes",
        "2048",
        "--default-max-attempts",
        "5",
    ])
    .unwrap();
    assert_eq!(settings.api.max_wait, Duration::from_secs(5));
    assert_eq!(settings.api.max_body_bytes, 1000, "the file fills in");
    assert_eq!(settings.api.max_module_bytes, 2048);
    assert_eq!(settings.api.default_max_attempts, 5);

    let err = load(&["--default-max-attempts", "11"]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "default_max_attempts: must be from 1 to 10"
    );
}

#[test]
fn connection_limits_have_defaults_and_refuse_zero() {
    let settings = load(&[]).unwrap();
    assert_eq!(settings.connections.max_connections, 4096);
    assert_eq!(
        settings.connections.header_read_timeout,
        Duration::from_secs(10)
    );
    assert_eq!(
        settings.connections.body_read_timeout,
        Duration::from_secs(30)
    );
    let file = config_file("max_connections = 10\nbody_read_timeout = \"2s\"\n");
    let path = file.path().to_str().unwrap();
    let settings = load(&["--config", path, "--header-read-timeout", "3s"]).unwrap();
    assert_eq!(settings.connections.max_connections, 10);
    assert_eq!(
        settings.connections.header_read_timeout,
        Duration::from_secs(3)
    );
    assert_eq!(
        settings.connections.body_read_timeout,
        Duration::from_secs(2)
    );
    for (flag, value, error) in [
        (
            "--max-connections",
            "0",
            "max_connections: must be at least 1",
        ),
        (
            "--header-read-timeout",
            "0s",
            "header_read_timeout: must be longer than 0s",
        ),
        (
            "--body-read-timeout",
            "0s",
            "body_read_timeout: must be longer than 0s",
        ),
    ] {
        let err = load(&[flag, value]).unwrap_err();
        assert_eq!(err.to_string(), error);
    }
}

#[test]
fn caps_on_long_requests_have_defaults_and_refuse_zero() {
    let settings = load(&[]).unwrap();
    assert_eq!(settings.api.max_waits, 1024);
    assert_eq!(settings.api.max_event_streams, 1024);
    assert_eq!(settings.api.max_event_streams_per_task, 16);
    let file = config_file("max_waits = 7\nmax_event_streams_per_task = 2\n");
    let path = file.path().to_str().unwrap();
    let settings = load(&["--config", path, "--max-event-streams", "9"]).unwrap();
    assert_eq!(settings.api.max_waits, 7);
    assert_eq!(settings.api.max_event_streams, 9);
    assert_eq!(settings.api.max_event_streams_per_task, 2);
    for name in [
        "max-waits",
        "max-event-streams",
        "max-event-streams-per-task",
    ] {
        let err = load(&[&format!("--{name}"), "0"]).unwrap_err();
        let field = name.replace('-', "_");
        assert_eq!(err.to_string(), format!("{field}: must be at least 1"));
    }
}

#[test]
fn lists_replace_each_other_and_switches_hold_if_either_layer_sets_them() {
    let keys = config_file("api_keys = [\"a\", \"b\"]\n");
    let keys = keys.path().to_str().unwrap();
    let from_file = load(&["--config", keys]).unwrap();
    assert_eq!(from_file.api_keys, ["a", "b"]);
    let from_flag = load(&["--config", keys, "--api-key", "c"]);
    assert_eq!(from_flag.unwrap().api_keys, ["c"]);

    let open = config_file("insecure_no_auth = true\n");
    let open = open.path().to_str().unwrap();
    let public = ["--bind", "0.0.0.0:8080"];
    assert!(load(&public).is_err());
    let settings = load(&[&public[..], &["--config", open]].concat());
    assert!(settings.is_ok(), "the file's switch holds under no flag");
}

#[test]
fn the_file_takes_durations_as_the_flags_do_and_names_itself_when_one_is_wrong() {
    let file = config_file("grace = \"1m 30s\"\nlease = \"2s\"\n");
    let settings = load(&["--config", file.path().to_str().unwrap()]);
    let settings = settings.unwrap();
    assert_eq!(
        (settings.grace, settings.lease),
        (Duration::from_secs(90), Duration::from_secs(2))
    );

    let file = config_file("lease = \"3 parsecs\"\n");
    let err = load(&["--config", file.path().to_str().unwrap()]);
    let err = err.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("config file {}:", file.path().display())),
        "{err}"
    );
    assert!(
        err.contains("lease = ") && err.contains("`3 parsecs`: unknown time unit"),
        "{err}"
    );
}

#[test]
fn the_file_refuses_keys_it_does_not_know_at_any_depth() {
    for (text, unknown) in [
        ("config = \"other.toml\"\n", "config"),
        ("[limits.default]\ntimeot_ms = 5\n", "timeot_ms"),
        ("[limits.minimum]\nfuel = 5\n", "minimum"),
    ] {
        let file = config_file(text);
        let args = ServeArgs {
            config: Some(file.path().to_owned()),
            ..ServeArgs::default()
        };
        let err = Settings::load(&args, &home()).unwrap_err().to_string();
        assert!(err.contains(&format!("unknown field `{unknown}`")), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }
}

#[test]
fn serve_help_gives_each_setting_its_default_and_variable() {
    let command = Serve::command();
    let arg = |long: &str| {
        command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .unwrap_or_else(|| panic!("--{long}"))
    };
    for long in [
        "max-body-bytes",
        "max-module-bytes",
        "max-wait",
        "default-max-attempts",
    ] {
        let variable = format!("SANDRUN_{}", long.replace('-', "_").to_uppercase());
        assert_eq!(arg(long).get_env(), Some(variable.as_ref()));
    }
    for a in command
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
    {
        let help = a.get_help().unwrap().to_string();
        let plain = matches!(a.get_id().as_str(), "config" | "api_keys");
        assert!(
            plain || help.contains("[default: "),
            "{:?}: {help}",
            a.get_id()
        );
    }
}

#[test]
fn the_log_format_and_metrics_address_come_from_flags_or_file() {
    let defaults = load(&[]).unwrap();
    assert_eq!(defaults.log_format, LogFormat::Text);
    assert_eq!(defaults.metrics_bind, None, "/metrics on --bind");

    let file = config_file("log_format = \"json\"\nmetrics_bind = \"127.0.0.1:9100\"\n");
    let path = file.path().to_str().unwrap();
    let settings = load(&["--config", path]).unwrap();
    assert_eq!(settings.log_format, LogFormat::Json);
    assert_eq!(
        settings.metrics_bind,
        Some("127.0.0.1:9100".parse().unwrap())
    );
    let workers = settings.workers.expect("workers by default");
    assert_eq!(
        workers.log_format,
        LogFormat::Json,
        "workers log as their server"
    );
    let flags = load(&["--config", path, "--log-format", "text"]).unwrap();
    assert_eq!(flags.log_format, LogFormat::Text, "the flag wins");

    assert!(Serve::try_parse_from(["serve", "--log-format", "yaml"]).is_err());
    let err = load(&[
        "--bind",
        "127.0.0.1:9100",
        "--metrics-bind",
        "127.0.0.1:9100",
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("metrics_bind: 127.0.0.1:9100 is --bind's own"),
        "{err}"
    );
}
