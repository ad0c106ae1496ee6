use std::io::Write;

use sandrun::configuration::{Database, ServeArgs, Settings};

use crate::support::home;

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
