//! Every `panoptic …` line of the README's shell blocks parses against the
//! command's own argument definitions.
//!
//! Why a unit test of the binary and not a test in `tests/`: it calls
//! [`Cli::try_parse_from`] on the very `Cli` that `main` parses, so it
//! checks the real definitions (value parsers, conflicts, subcommands)
//! and adds nothing to the command itself: no hidden flag or environment
//! variable that only a test would use. Running the built binary with
//! `--help` appended would not do: help short-circuits the parsing.
//!
//! `cargo test --features cli --bin panoptic readme`

use clap::Parser;

use crate::Cli;

/// The README, as the test was built with it.
const README: &str = include_str!("../../../README.md");

/// Languages of the blocks that hold shell commands.
const SHELL: [&str; 6] = ["", "sh", "bash", "shell", "console", "text"];

/// `(line number, command)` for every `panoptic …` line in a shell block:
/// `$ ` prompts dropped, `\` continuations joined. Comments (`# …`) stay:
/// the shell-word split drops them.
fn commands(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut block: Option<&str> = None;
    let mut lines = markdown.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let trimmed = line.trim();
        if let Some(language) = trimmed.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(language.trim()),
            };
            continue;
        }
        if !block.is_some_and(|language| SHELL.contains(&language)) {
            continue;
        }
        let command = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        if command != "panoptic" && !command.starts_with("panoptic ") {
            continue;
        }
        let mut command = command.to_owned();
        while let Some(head) = command.strip_suffix('\\') {
            command = head.to_owned();
            match lines.next() {
                Some((_, next)) => command.push_str(next),
                None => break,
            }
        }
        found.push((index + 1, command));
    }
    found
}

/// Why `command` does not parse, or `None`.
fn refusal(command: &str) -> Option<String> {
    let Some(words) = shlex::split(command) else {
        return Some("unbalanced quotes".to_owned());
    };
    match Cli::try_parse_from(&words) {
        Ok(_) => None,
        // `--help` or `--version` in the README: parsed, then printed.
        Err(error) if !error.use_stderr() => None,
        Err(error) => Some(
            error
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
    }
}

#[test]
fn every_readme_command_parses() {
    let commands = commands(README);
    // The README shows every subcommand; far fewer lines would mean the
    // extraction broke, not that the README shrank.
    assert!(commands.len() >= 25, "only {commands:?}");
    let refused: Vec<String> = commands
        .iter()
        .filter_map(|(line, command)| {
            refusal(command).map(|why| format!("README.md:{line}: `{command}`: {why}"))
        })
        .collect();
    assert!(refused.is_empty(), "\n{}", refused.join("\n"));
}

#[test]
fn the_extraction_reads_prompts_continuations_quotes_and_comments() {
    let markdown = "text\npanoptic prose\n```sh\n$ panoptic report --since 7d   # a comment\n\
                    panoptic budgets set 'a b' \\\n  --limit 5 \\\n  --period day\n\
                    cargo run\n```\n```toml\npanoptic = { version = \"1\" }\n```\n";
    let found = commands(markdown);
    assert_eq!(
        found,
        vec![
            (4, "panoptic report --since 7d   # a comment".to_owned()),
            (
                5,
                "panoptic budgets set 'a b'   --limit 5   --period day".to_owned()
            ),
        ]
    );
    assert_eq!(
        shlex::split(&found[1].1).unwrap(),
        [
            "panoptic", "budgets", "set", "a b", "--limit", "5", "--period", "day"
        ]
    );
    assert_eq!(refusal(&found[0].1), None);
    assert_eq!(refusal(&found[1].1), None);
    assert!(refusal("panoptic report --no-such-flag").is_some());
    assert!(refusal("panoptic budgets set 'open").is_some());
}
