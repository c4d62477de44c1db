#!/usr/bin/env python3
"""Tests of scripts/module-graph: each check passes a clean workspace and fails a bad one.

    python3 scripts/test_module_graph.py
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "module-graph")


def manifest(name, deps="", extra=""):
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n{deps}\n{extra}'


def root_manifest(members):
    listed = ", ".join(f'"{m}"' for m in members)
    return manifest("panoptic", 'panoptic-core = { path = "panoptic-core" }\n') + f"\n[workspace]\nmembers = [{listed}]\n"


# A small workspace that passes every check.
CLEAN = {
    "Cargo.toml": root_manifest(["panoptic-catalog", "panoptic-core", "panoptic-budgets"]),
    "src/lib.rs": "pub use panoptic_core::Error;\n",
    "src/bin/cli/main.rs": "mod args;\nmod report;\nfn main() { report::run(args::Global) }\n",
    "src/bin/cli/args.rs": "pub struct Global;\n",
    "src/bin/cli/report.rs": "use crate::args::Global;\npub fn run(_: Global) {}\n",
    "panoptic-catalog/Cargo.toml": manifest("panoptic-catalog"),
    "panoptic-catalog/src/lib.rs": "pub struct Provider;\n",
    "panoptic-core/Cargo.toml": manifest(
        "panoptic-core",
        'panoptic-catalog = { path = "../panoptic-catalog" }\n',
        # dev-dependencies do not count
        '[dev-dependencies]\npanoptic-budgets = { path = "../panoptic-budgets" }\n',
    ),
    "panoptic-core/src/lib.rs": textwrap.dedent("""\
        mod error;
        mod writer;
        #[doc(hidden)]
        #[path = "private.rs"]
        pub mod __private;
        pub use error::Error;
        #[doc(hidden)]
        pub use std as __slog;
        """),
    "panoptic-core/src/error.rs": "pub struct Error;\n",
    "panoptic-core/src/writer.rs": "use crate::Error;\npub fn write() -> Error { crate::error::Error }\n",
    "panoptic-core/src/private.rs": "pub use crate::writer::write;\n",
    "panoptic-budgets/Cargo.toml": manifest("panoptic-budgets", 'panoptic-core = { path = "../panoptic-core" }\n'),
    "panoptic-budgets/src/lib.rs": textwrap.dedent("""\
        // Not panoptic_core::__private: the public API only.
        use panoptic_core::Error;
        pub fn f() -> &'static str { "panoptic_core::__private" }
        """),
}


class ModuleGraph(unittest.TestCase):
    def run_on(self, changes, *args):
        """(exit status, stdout) of the script on CLEAN with changes (None deletes a file)."""
        files = dict(CLEAN)
        files.update(changes)
        with tempfile.TemporaryDirectory() as root:
            for rel, text in files.items():
                if text is None:
                    continue
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
            done = subprocess.run([sys.executable, SCRIPT, "--root", root, *args], capture_output=True, text=True)
        self.assertEqual(done.stderr, "")
        return done.returncode, done.stdout

    def assert_fails(self, changes, *expected):
        status, out = self.run_on(changes, "--quiet")
        self.assertEqual(status, 1, out)
        for text in expected:
            self.assertIn(text, out)
        self.assertIn(" problem", out.splitlines()[-1])
        return out

    def test_clean_workspace_passes(self):
        status, out = self.run_on({})
        self.assertEqual(status, 0, out)
        self.assertIn("4 crates (5 crate roots), 10 modules checked: 0 problems", out)
        self.assertIn("panoptic-core:\n  __private -> writer\n  writer -> error\n", out)
        self.assertIn("panoptic[bin cli]:\n  report -> args\n", out)
        status, out = self.run_on({}, "--quiet")
        self.assertEqual((status, out), (0, ""))

    def test_cycle_among_library_modules(self):
        self.assert_fails(
            {"panoptic-core/src/error.rs": "pub struct Error(crate::writer::W);\n"},
            "CYCLE in panoptic-core: error -> writer -> error",
        )

    def test_cycle_through_a_reexport_and_a_use_group(self):
        self.assert_fails(
            {"panoptic-core/src/error.rs": "use crate::{writer::{write}};\npub struct Error;\n"},
            "CYCLE in panoptic-core: error -> writer -> error",
        )

    def test_cycle_in_a_nested_module(self):
        self.assert_fails(
            {
                "panoptic-core/src/writer.rs": "mod a;\nmod b;\n",
                "panoptic-core/src/writer/a.rs": "use super::b::X;\npub struct Y;\n",
                "panoptic-core/src/writer/b.rs": "pub struct X(super::a::Y);\n",
            },
            "CYCLE in panoptic-core::writer: a -> b -> a",
        )

    def test_cycle_in_a_binary_folder(self):
        self.assert_fails(
            {"src/bin/cli/args.rs": "pub struct Global;\npub enum Command { Report(crate::report::Args) }\n"},
            "CYCLE in panoptic[bin cli]: args -> report -> args",
        )

    def test_cycle_in_a_single_file_binary(self):
        self.assert_fails(
            {
                "src/bin/tool.rs": "mod one;\nmod two;\nfn main() {}\n",
                "src/bin/one.rs": "use crate::two::B;\npub struct A;\n",
                "src/bin/two.rs": "pub struct B(crate::one::A);\n",
            },
            "CYCLE in panoptic[bin tool]: one -> two -> one",
        )

    def test_path_attribute_is_followed(self):
        self.assert_fails(
            {"panoptic-core/src/writer.rs": "use crate::__private::write as w;\npub fn write() {}\n"},
            "CYCLE in panoptic-core: __private -> writer -> __private",
        )

    def test_tests_comments_and_strings_are_left_out(self):
        status, out = self.run_on({
            "panoptic-core/src/error.rs": textwrap.dedent("""\
                // crate::writer::write()
                /* crate::writer */
                pub struct Error;
                pub const S: &str = "crate::writer::write";
                #[cfg(test)]
                use crate::writer::write;
                #[cfg(test)]
                mod tests;
                #[cfg(test)]
                mod inline {
                    use crate::writer::write;
                }
                pub fn after() {}
                """),
            "panoptic-core/src/error/tests.rs": "use crate::writer::write;\n",
        }, "--quiet")
        self.assertEqual((status, out), (0, ""))

    def test_dependency_outside_the_rule(self):
        self.assert_fails(
            {
                "Cargo.toml": root_manifest(["panoptic-catalog", "panoptic-core", "panoptic-budgets", "panoptic-gcp"]),
                "panoptic-gcp/Cargo.toml": manifest("panoptic-gcp", 'panoptic-core = { path = "../panoptic-core" }\n'),
                "panoptic-gcp/src/lib.rs": "",
                "panoptic-core/Cargo.toml": manifest(
                    "panoptic-core",
                    'panoptic-catalog = { path = "../panoptic-catalog" }\n'
                    'panoptic-gcp = { path = "../panoptic-gcp", optional = true }\n',
                ),
            },
            "DEPENDENCY panoptic-core -> panoptic-gcp is not allowed",
            "panoptic-core may depend on: panoptic-catalog, panoptic-prices",
        )

    def test_target_dependencies_count(self):
        self.assert_fails(
            {
                "panoptic-catalog/Cargo.toml": manifest(
                    "panoptic-catalog", "",
                    "[target.'cfg(unix)'.dependencies]\npanoptic-core = { path = \"../panoptic-core\" }\n",
                ),
            },
            "DEPENDENCY panoptic-catalog -> panoptic-core is not allowed ([target.cfg(unix).dependencies]",
        )

    def test_workspace_inherited_dependency_counts(self):
        root = CLEAN["Cargo.toml"] + '\n[workspace.dependencies]\npanoptic-budgets = { path = "panoptic-budgets" }\n'
        self.assert_fails(
            {
                "Cargo.toml": root,
                "panoptic-catalog/Cargo.toml": manifest("panoptic-catalog", "panoptic-budgets.workspace = true\n"),
            },
            "DEPENDENCY panoptic-catalog -> panoptic-budgets is not allowed",
        )

    def test_crate_without_a_rule(self):
        self.assert_fails(
            {
                "Cargo.toml": root_manifest(["panoptic-catalog", "panoptic-core", "panoptic-budgets", "panoptic-new"]),
                "panoptic-new/Cargo.toml": manifest("panoptic-new"),
                "panoptic-new/src/lib.rs": "",
            },
            "NO RULE for crate panoptic-new",
        )

    def test_member_without_a_folder_is_skipped(self):
        members = ["panoptic-catalog", "panoptic-core", "panoptic-budgets", "panoptic-ledger"]
        status, out = self.run_on({"Cargo.toml": root_manifest(members)})
        self.assertEqual(status, 0, out)
        self.assertIn("note: panoptic-ledger: in the workspace members, no folder yet (skipped)", out)
        self.assertEqual(self.run_on({"Cargo.toml": root_manifest(members)}, "--quiet"), (0, ""))

    def test_budgets_reach_hidden_items_of_core(self):
        out = self.assert_fails(
            {
                "panoptic-budgets/src/lib.rs": textwrap.dedent("""\
                    mod inner;
                    use panoptic_core::__private::write;
                    """),
                "panoptic-budgets/src/inner.rs": textwrap.dedent("""\
                    use panoptic_core::{Error, __slog};

                    pub fn f() { ::panoptic_core::__private::write(); }
                    """),
            },
            "HIDDEN API in panoptic-budgets: panoptic-budgets/src/lib.rs:2 reaches panoptic_core::__private",
            "panoptic-budgets/src/inner.rs:1 reaches panoptic_core::__slog",
            "panoptic-budgets/src/inner.rs:3 reaches panoptic_core::__private::write",
        )
        self.assertIn("3 problems", out)

    def test_ledger_reaches_hidden_items_through_a_renamed_dependency(self):
        self.assert_fails(
            {
                "Cargo.toml": root_manifest(["panoptic-catalog", "panoptic-core", "panoptic-budgets", "panoptic-ledger"]),
                "panoptic-ledger/Cargo.toml": manifest(
                    "panoptic-ledger", 'core_api = { package = "panoptic-core", path = "../panoptic-core" }\n'),
                "panoptic-ledger/src/lib.rs": "use core_api as c;\npub fn f() { c::__slog::f() }\n",
            },
            "HIDDEN API in panoptic-ledger: panoptic-ledger/src/lib.rs:2 reaches c::__slog",
        )


if __name__ == "__main__":
    unittest.main()
