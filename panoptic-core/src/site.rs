//! What the macros know at compile time about one annotated function or
//! block: a `static` [`CallSite`] per site, and the names worked out from it.

use std::sync::OnceLock;
use std::sync::atomic::AtomicUsize;

use arc_swap::ArcSwapOption;

use crate::event::{Category, Kind};
use panoptic_catalog::Provider;

/// Compile-time facts about one annotated function or block.
///
/// Built by the macros; the fields are public only so generated code can
/// write a `static` of it.
#[doc(hidden)]
pub struct CallSite {
    pub provider: Provider,
    pub service: &'static str,
    /// `category = "…"` when given, else the catalog's.
    pub category: Option<Category>,
    /// `resource = "…"` when given.
    pub resource: Option<&'static str>,
    /// The function's identifier as written; empty for `billable_block!`,
    /// whose enclosing function is found through `locate`.
    pub function_name: &'static str,
    /// Returns the type name of an item declared inside the annotated
    /// function, which spells the function's full path (impl type included).
    pub locate: fn() -> &'static str,
    pub args_types: &'static [&'static str],
    pub kind: Kind,
    pub unit: &'static str,
    pub currency: &'static str,
    pub tags: &'static [&'static str],
    pub location: slog::RecordLocation,
    pub names: OnceLock<SiteNames>,
    /// The child logger this site used last, so a call skips the handle's
    /// logger table.
    pub cache: SiteCache,
}

/// What a call site works out once: its child logger (tagged with the
/// handle it belongs to) and its static fields as BSON.
#[doc(hidden)]
pub struct SiteCache {
    pub(crate) logger: ArcSwapOption<CachedLogger>,
    encoded: OnceLock<SiteBytes>,
}

impl SiteCache {
    /// Empty; filled on the first call.
    pub const fn new() -> SiteCache {
        SiteCache {
            logger: ArcSwapOption::const_empty(),
            encoded: OnceLock::new(),
        }
    }
}

impl Default for SiteCache {
    fn default() -> Self {
        SiteCache::new()
    }
}

/// A child logger and the handle it belongs to.
pub(crate) struct CachedLogger {
    pub handle: u64,
    pub logger: slog::Logger,
}

/// Names of a call site resolved from its path.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteNames {
    /// `resource`: the explicit one, else the function's identifier.
    pub resource: String,
    /// The identifier as written (for blocks: the enclosing function's).
    pub function_name: String,
    /// `Type::method` for methods, `<Type as Trait>::method` for trait
    /// methods, else the identifier.
    pub qualified_name: String,
}

impl CallSite {
    /// Whether calls of this site are AWS Lambda invocations, priced from
    /// their measured duration.
    pub(crate) fn is_aws_lambda(&self) -> bool {
        self.provider == Provider::Aws && self.service == "Lambda"
    }

    pub(crate) fn is_aws_dynamodb(&self) -> bool {
        self.provider == Provider::Aws && self.service == "DynamoDB"
    }

    /// The names of this site, computed on first use.
    pub fn names(&self) -> &SiteNames {
        self.names.get_or_init(|| {
            let path = (self.locate)();
            resolve_names(
                path,
                self.location.module,
                self.function_name,
                self.resource,
            )
        })
    }

    /// The site's static fields as BSON elements, encoded on first use.
    pub(crate) fn encoded(&self) -> &SiteBytes {
        self.cache.encoded.get_or_init(|| SiteBytes::of(self))
    }

    /// The category: explicit, else the catalog's for provider and service.
    pub fn category(&self) -> Category {
        self.category
            .unwrap_or_else(|| self.provider.category_of(self.service))
    }
}

/// A site's static fields, encoded once as runs of BSON elements in the
/// order the stored document has them; each call's document copies them
/// between its own fields.
pub(crate) struct SiteBytes {
    /// `category`, `provider`, `service`, `resource`, `kind`.
    pub head: Box<[u8]>,
    /// `metadata`'s `function_name`, `qualified_name`, `module_path`.
    pub names: Box<[u8]>,
    /// `metadata.args_types`.
    pub args_types: Box<[u8]>,
    /// `metadata.tags`.
    pub tags: Box<[u8]>,
    /// The size of this site's last document: the next one's buffer is
    /// allocated at that size once, not grown (and copied) as it fills.
    pub last_size: AtomicUsize,
}

impl SiteBytes {
    fn of(site: &CallSite) -> SiteBytes {
        use crate::keys::{self, metadata as meta};
        use panoptic_spool::bson_bytes::{put_str, put_str_array};
        // Only a static string longer than BSON allows (2 GiB) fails: its
        // field is left out rather than the document spoiled.
        let text = |out: &mut Vec<u8>, key: &str, value: &str| {
            let _ = put_str(out, key, value);
        };
        let list = |out: &mut Vec<u8>, key: &str, values: &[&str]| {
            if put_str_array(out, key, values).is_err() {
                out.clear();
            }
        };
        let names = site.names();
        let mut head = Vec::new();
        text(&mut head, keys::CATEGORY, site.category().as_str());
        text(&mut head, keys::PROVIDER, site.provider.as_str());
        text(&mut head, keys::SERVICE, site.service);
        text(&mut head, keys::RESOURCE, &names.resource);
        text(&mut head, keys::KIND, site.kind.as_str());
        let mut name_bytes = Vec::new();
        text(&mut name_bytes, meta::FUNCTION_NAME, &names.function_name);
        text(&mut name_bytes, meta::QUALIFIED_NAME, &names.qualified_name);
        text(&mut name_bytes, meta::MODULE_PATH, site.location.module);
        let mut args_types = Vec::new();
        list(&mut args_types, meta::ARGS_TYPES, site.args_types);
        let mut tags = Vec::new();
        list(&mut tags, meta::TAGS, site.tags);
        SiteBytes {
            head: head.into(),
            names: name_bytes.into(),
            args_types: args_types.into(),
            tags: tags.into(),
            last_size: AtomicUsize::new(0),
        }
    }

    /// Bytes a call's document takes from the site.
    pub fn len(&self) -> usize {
        self.head.len() + self.names.len() + self.args_types.len() + self.tags.len()
    }
}

/// Turns `crate::m::Foo::method::__panoptic_locate` (the probe's type name)
/// into the function's names. Closures and async blocks (`{{closure}}`)
/// between the function and the probe are skipped.
pub(crate) fn resolve_names(
    probe_path: &str,
    module_path: &str,
    function_name: &str,
    resource: Option<&str>,
) -> SiteNames {
    let mut path = probe_path
        .rsplit_once("::")
        .map_or(probe_path, |(head, _)| head);
    while let Some(head) = path.strip_suffix("::{{closure}}") {
        path = head;
    }
    let qualified = path
        .strip_prefix(module_path)
        .and_then(|rest| rest.strip_prefix("::"))
        .unwrap_or(path);
    let qualified = shorten_paths(qualified);
    let last = qualified
        .rsplit("::")
        .next()
        .unwrap_or(&qualified)
        .to_owned();
    let function_name = if function_name.is_empty() {
        last
    } else {
        function_name.to_owned()
    };
    SiteNames {
        resource: resource.map_or_else(|| function_name.clone(), str::to_owned),
        qualified_name: if qualified.is_empty() {
            function_name.clone()
        } else {
            qualified
        },
        function_name,
    }
}

/// `<a::b::Foo as c::Trait>::run` → `<Foo as Trait>::run`: inside angle
/// brackets, keep only the last segment of each path.
fn shorten_paths(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut segment = String::new();
    let mut depth = 0usize;
    let mut chars = path.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            ':' if depth > 0 && chars.peek() == Some(&':') => {
                chars.next();
                segment.clear();
            }
            '<' | '>' | ' ' | ',' | '&' | '(' | ')' | '[' | ']' | ';' => {
                out.push_str(&segment);
                segment.clear();
                depth = match ch {
                    '<' => depth + 1,
                    '>' => depth.saturating_sub(1),
                    _ => depth,
                };
                out.push(ch);
            }
            _ => segment.push(ch),
        }
    }
    out.push_str(&segment);
    out
}

#[cfg(test)]
mod tests;
