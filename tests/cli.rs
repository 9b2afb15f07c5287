//! The binary's own commands that need no AWS: `completions`, `man`, and
//! the `--color` flag's parsing. Subcommand names come from the parser's
//! definition, so subcommands added later are checked too.

use std::process::{Command, Output};

use clap::CommandFactory;
use s3ep::cli::Cli;

fn s3ep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_s3ep"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run s3ep")
}

/// Every visible subcommand's name.
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    let names = subcommands();
    for wanted in [
        "validate",
        "plan",
        "apply",
        "destroy",
        "outputs",
        "schema",
        "completions",
        "man",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} is not a subcommand: {names:?}"
        );
    }
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = s3ep(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        assert!(
            out.stderr.is_empty(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.len() > 200, "{shell}: {script}");
        assert!(script.contains("s3ep"), "{shell}");
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell}: the script does not mention {name}"
            );
        }
        // Global options are completed too.
        assert!(
            script.contains("endpoint-url") && script.contains("color"),
            "{shell}"
        );
    }
}

#[test]
fn unknown_shell_is_one_clear_error() {
    let out = s3ep(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("error:") && first.contains("tcsh"), "{err}");
    assert!(
        err.contains("bash") && err.contains("powershell"),
        "names the shells: {err}"
    );
    assert_eq!(err.matches("error:").count(), 1, "{err}");
}

#[test]
fn man_page_documents_every_subcommand() {
    let out = s3ep(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "roff: {}",
        &page[..page.len().min(80)]
    );
    assert!(page.contains(".TH s3ep"), "title header");
    assert!(page.contains("SUBCOMMANDS"), "{page}");
    for name in subcommands() {
        assert!(
            page.contains(&format!("s3ep\\-{name}")),
            "the man page does not mention {name}"
        );
    }
    assert!(page.contains("\\-\\-color"), "global options are documented");
}

#[test]
fn color_flag_takes_auto_always_never_only() {
    for when in ["auto", "always", "never"] {
        let out = s3ep(&["--color", when, "schema"]);
        assert!(out.status.success(), "{when}: {out:?}");
    }
    let out = s3ep(&["schema", "--color", "sometimes"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sometimes") && err.contains("always"), "{err}");
}

#[test]
fn man_page_of_each_subcommand() {
    for name in subcommands() {
        let out = s3ep(&["man", &name]);
        assert!(out.status.success(), "{name}: {out:?}");
        let page = String::from_utf8_lossy(&out.stdout);
        assert!(
            page.contains(&format!(".TH s3ep-{name} 1")),
            "{name}: {}",
            &page[..page.len().min(300)]
        );
    }
    let page = String::from_utf8_lossy(&s3ep(&["man", "plan"]).stdout).into_owned();
    assert!(page.contains("\\-\\-detailed\\-exitcode"), "{page}");
    let out = s3ep(&["man", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope") && err.contains("validate"), "{err}");
}
