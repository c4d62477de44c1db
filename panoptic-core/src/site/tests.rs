use super::*;

#[test]
fn names_from_probe_paths() {
    // (probe path, module, identifier, resource) → (function, qualified, resource)
    let cases = [
        (
            (
                "app::jobs::daily_report::__panoptic_locate",
                "app::jobs",
                "daily_report",
                None,
            ),
            ("daily_report", "daily_report", "daily_report"),
        ),
        (
            (
                "app::Reports::daily::{{closure}}::__panoptic_locate",
                "app",
                "daily",
                Some("nightly"),
            ),
            ("daily", "Reports::daily", "nightly"),
        ),
        (
            (
                "<app::m::Foo as app::Job>::run::__panoptic_locate",
                "app::m",
                "run",
                None,
            ),
            ("run", "<Foo as Job>::run", "run"),
        ),
        (
            (
                "app::main::{{closure}}::{{closure}}::__panoptic_locate",
                "app",
                "",
                None,
            ),
            ("main", "main", "main"),
        ),
    ];
    for ((path, module, function, resource), (name, qualified, billed)) in cases {
        let names = resolve_names(path, module, function, resource);
        assert_eq!(
            (
                names.function_name.as_str(),
                names.qualified_name.as_str(),
                names.resource.as_str()
            ),
            (name, qualified, billed),
            "{path}"
        );
    }
}
