//! `cargo xtask layers`: line-oauth's modules import only downward. It
//! reads every `use` of `line-oauth/src` that names the crate's own items
//! (`crate::…`, `super::…`, `self::…`, or a child module's name), and every
//! `crate::…` or `super::…` path written out in the code (not the command's
//! own crate under `bin/`). A name the crate root re-exports
//! (`crate::Error`) counts as an import of the module that defines it. It
//! fails on any loop: between files, and between top-level modules (a
//! module with its submodules counts as one).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A file's module path: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`.
type ModPath = Vec<String>;

/// One import: where it stands, and what it names.
#[derive(Debug, Clone)]
struct Import {
    from: ModPath,
    to: ModPath,
    line: usize,
    names: String,
}

/// Checks `src` (line-oauth's source directory): `Ok` with a summary, or
/// `Err` naming every loop and the imports that close it.
pub fn check(src: &Path) -> Result<String, String> {
    let files = module_files(src)?;
    let modules: BTreeSet<ModPath> = files.keys().cloned().collect();
    let mut texts = BTreeMap::new();
    for (module, path) in &files {
        let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        texts.insert(module.clone(), text);
    }
    let resolver = Resolver {
        modules: &modules,
        reexports: texts
            .get(&ModPath::new())
            .map(|lib| reexports(lib, &modules))
            .unwrap_or_default(),
    };
    let mut imports = Vec::new();
    for (module, text) in &texts {
        imports.extend(imports_of(module, text, &resolver));
    }
    let file_loops = loops(&imports, |m| m.clone());
    let top_loops = loops(&imports, |m| m.iter().take(1).cloned().collect());
    if file_loops.is_empty() && top_loops.is_empty() {
        return Ok(format!(
            "layers: {} files, {} imports, no loop",
            files.len(),
            imports.len()
        ));
    }
    let mut report =
        String::from("line-oauth/src has import loops (modules must only import downward):\n");
    for (level, found) in [("file", &file_loops), ("top-level module", &top_loops)] {
        for cycle in found.iter() {
            report.push_str(&format!("- a {level} loop:\n"));
            for import in cycle {
                report.push_str(&format!(
                    "    {} -> {} (line {}: {})\n",
                    shown(&import.from),
                    shown(&import.to),
                    import.line,
                    import.names
                ));
            }
        }
    }
    Err(report)
}

fn shown(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Every module file under `src`, by module path; `bin/` (another crate) left out.
fn module_files(src: &Path) -> Result<BTreeMap<ModPath, PathBuf>, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let relative = path.strip_prefix(src).map_err(|e| e.to_string())?;
            if relative.starts_with("bin") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module: ModPath = relative
                    .with_extension("")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if module.last().is_some_and(|l| l == "mod" || l == "lib") {
                    module.pop();
                }
                files.insert(module, path);
            }
        }
    }
    Ok(files)
}

/// How a path names a module of the crate.
struct Resolver<'a> {
    /// Every module of the crate.
    modules: &'a BTreeSet<ModPath>,
    /// The names the crate root re-exports, and the module each comes from.
    reexports: BTreeMap<String, ModPath>,
}

impl Resolver<'_> {
    /// The module file `path` (from the crate root) leads into: its longest
    /// prefix that is a module, or for a name the root re-exports, the
    /// module it comes from.
    fn target(&self, path: &ModPath) -> ModPath {
        let deepest = deepest_module(path, self.modules);
        match (deepest.is_empty(), path.first()) {
            (true, Some(name)) => self.reexports.get(name).cloned().unwrap_or_default(),
            _ => deepest,
        }
    }
}

/// The names `lib` (the crate root) re-exports with `pub use`, each with
/// the module it comes from.
fn reexports(lib: &str, modules: &BTreeSet<ModPath>) -> BTreeMap<String, ModPath> {
    let mut names = BTreeMap::new();
    for statement in use_statements(lib).into_iter().filter(|s| s.public) {
        for path in expand(&statement.tree) {
            if let (Some(absolute), Some(name)) =
                (absolute(&ModPath::new(), &path, modules), path.last())
            {
                names.insert(name.clone(), deepest_module(&absolute, modules));
            }
        }
    }
    names
}

/// A `use` statement: its tree, the line it starts on, and whether it is
/// `pub`.
struct UseStatement {
    tree: String,
    line: usize,
    public: bool,
}

/// The lines of `text` up to its inline unit tests (`#[cfg(test)] mod
/// tests {`), each with its number; a `mod tests;` declaration does not end
/// them.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let next = lines.get(index + 1).map(|l| l.trim());
        if line.trim() == "#[cfg(test)]"
            && next.is_some_and(|l| l.starts_with("mod tests") && !l.ends_with(';'))
        {
            break;
        }
        kept.push((index + 1, line.trim()));
    }
    kept
}

/// The `use` statements of `text`, each joined onto one line.
fn use_statements(text: &str) -> Vec<UseStatement> {
    let lines = code_lines(text);
    let mut statements = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let (number, line) = lines[index];
        index += 1;
        let (public, first) = if let Some(rest) = line.strip_prefix("pub use ") {
            (true, rest)
        } else if let Some(rest) = line
            .strip_prefix("pub(crate) use ")
            .or_else(|| line.strip_prefix("pub(super) use "))
            .or_else(|| line.strip_prefix("use "))
        {
            (false, rest)
        } else {
            continue;
        };
        // A use statement may run over several lines, up to its `;`.
        let mut tree = first.to_owned();
        while !tree.contains(';') && index < lines.len() {
            tree.push_str(lines[index].1);
            index += 1;
        }
        statements.push(UseStatement {
            tree: tree.trim_end_matches(';').to_owned(),
            line: number,
            public,
        });
    }
    statements
}

/// The imports of the file of `module`, up to its unit tests.
fn imports_of(module: &ModPath, text: &str, resolver: &Resolver) -> Vec<Import> {
    let mut found = Vec::new();
    let mut add = |path: &[String], line: usize| {
        let Some(absolute) = absolute(module, path, resolver.modules) else {
            return;
        };
        let target = resolver.target(&absolute);
        if target != *module && !module.starts_with(&target) {
            found.push(Import {
                from: module.clone(),
                to: target,
                line,
                names: path.join("::"),
            });
        }
    };
    for statement in use_statements(text) {
        for path in expand(&statement.tree) {
            add(&path, statement.line);
        }
    }
    // Paths written out in the code, such as `crate::raw::Endpoints::new(..)`.
    for (number, line) in code_lines(text) {
        let is_use = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .any(|p| line.starts_with(p));
        if !line.starts_with("//") && !is_use {
            for path in inline_paths(line) {
                add(&path, number);
            }
        }
    }
    found
}

/// The `crate::…` and `super::…` paths written out in a line of code, each
/// with its head.
fn inline_paths(line: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for head in ["crate::", "super::"] {
        for (at, _) in line.match_indices(head) {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '$') {
                continue; // `$crate::`, `super::super::`, or part of a longer name
            }
            let rest = &line[at + head.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let mut path = vec![head.trim_end_matches(':').to_owned()];
            path.extend(
                rest[..end]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
            paths.push(path);
        }
    }
    paths
}

/// The paths a use tree names: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`,
/// `a::c::e`; `x as y` is `x`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = without_renames(tree).replace(char::is_whitespace, "");
    let Some(open) = tree.find('{') else {
        return vec![
            tree.split("::")
                .map(str::to_owned)
                .filter(|s| !s.is_empty())
                .collect(),
        ];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut paths = Vec::new();
    for part in split_top_level(inner) {
        for mut rest in expand(&part) {
            if rest.first().is_some_and(|s| s == "self") {
                rest.remove(0);
            }
            let mut path = prefix.clone();
            path.append(&mut rest);
            paths.push(path);
        }
    }
    paths
}

/// `tree` without its renames: `a::X as Y` is `a::X`.
fn without_renames(tree: &str) -> String {
    let mut kept = String::with_capacity(tree.len());
    let mut words = tree.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word == "as" {
            // Drop the new name, keep what follows it (`,` or `}`).
            if let Some(name) = words.next() {
                kept.extend(
                    name.chars()
                        .skip_while(|c| c.is_alphanumeric() || *c == '_'),
                );
            }
            continue;
        }
        kept.push(' ');
        kept.push_str(word);
    }
    kept
}

/// `inner` split at its top-level commas.
fn split_top_level(inner: &str) -> Vec<String> {
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// `path` from the crate root, for paths that start with `crate`, `super`,
/// `self` or the name of a child module of `module` (`use classify::X` in
/// `call`); `None` for other crates' paths, and for a lone child module's
/// name (`mod` declares it rather than imports it).
fn absolute(module: &ModPath, path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let (head, rest) = path.split_first()?;
    let mut child = module.clone();
    child.push(head.clone());
    if modules.contains(&child) {
        if rest.is_empty() {
            return None;
        }
        child.extend(rest.iter().cloned());
        return Some(child);
    }
    let mut base = match head.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => {
            let mut base = module.clone();
            base.pop()?;
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            return Some(base);
        }
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module file a path leads into: its longest prefix that is a module.
fn deepest_module(path: &ModPath, modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

/// Every loop of the import graph with nodes named by `node`: each as the
/// imports that close it, one loop per strongly connected set.
fn loops(imports: &[Import], node: impl Fn(&ModPath) -> ModPath) -> Vec<Vec<Import>> {
    let mut edges: BTreeMap<ModPath, Vec<(ModPath, Import)>> = BTreeMap::new();
    for import in imports {
        let (from, to) = (node(&import.from), node(&import.to));
        if from != to {
            edges.entry(from).or_default().push((to, import.clone()));
        }
    }
    let mut found = Vec::new();
    let mut reported: BTreeSet<ModPath> = BTreeSet::new();
    for start in edges.keys() {
        if reported.contains(start) {
            continue;
        }
        if let Some(cycle) = path_back(&edges, start, start, &mut BTreeSet::new()) {
            for import in &cycle {
                reported.insert(node(&import.from));
            }
            found.push(cycle);
        }
    }
    found
}

/// A path of imports from `at` back to `goal`, if there is one.
fn path_back(
    edges: &BTreeMap<ModPath, Vec<(ModPath, Import)>>,
    at: &ModPath,
    goal: &ModPath,
    seen: &mut BTreeSet<ModPath>,
) -> Option<Vec<Import>> {
    for (next, import) in edges.get(at).into_iter().flatten() {
        if next == goal {
            return Some(vec![import.clone()]);
        }
        if seen.insert(next.clone())
            && let Some(mut rest) = path_back(edges, next, goal, seen)
        {
            rest.insert(0, import.clone());
            return Some(rest);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// line-oauth itself: its modules import only downward.
    #[test]
    fn line_oauth_has_no_import_loop() {
        let src = crate::regen::root().join("line-oauth/src");
        if let Err(report) = check(&src) {
            panic!("{report}");
        }
    }

    /// A loop through three files, and one between top-level modules whose
    /// files do not loop, are both found and named.
    #[test]
    fn loops_are_found_between_files_and_between_modules() {
        let dir = std::env::temp_dir().join(format!("layers-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (file, text) in [
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
            ("a.rs", "use crate::b::Thing;\n"),
            ("b.rs", "use crate::{\n    c::{Other, More},\n};\n"),
            ("c.rs", "fn f() { crate::a::First::new(); }\n"),
            ("d/mod.rs", "mod inner;\nuse self::inner::X;\n"),
            (
                "d/inner.rs",
                "use crate::a::First as Renamed;\n#[cfg(test)]\nmod tests {\n    use crate::d::Y;\n}\n",
            ),
        ] {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let report = check(&dir).unwrap_err();
        assert!(
            report.contains("a -> b (line 1: crate::b::Thing)"),
            "{report}"
        );
        assert!(
            report.contains("b -> c (line 1: crate::c::Other)"),
            "{report}"
        );
        assert!(
            report.contains("c -> a (line 1: crate::a::First::new)"),
            "{report}"
        );
        // d's files import only a: the test module's import is not counted.
        assert!(!report.contains("d::inner"), "{report}");
        fs::write(dir.join("c.rs"), "pub struct First;\n").unwrap();
        assert!(check(&dir).is_ok(), "{:?}", check(&dir));
        fs::write(dir.join("a.rs"), "use crate::d::inner::Deep;\n").unwrap();
        fs::write(dir.join("d/inner.rs"), "use crate::a::First;\n").unwrap();
        let report = check(&dir).unwrap_err();
        assert!(report.contains("a top-level module loop"), "{report}");
        assert!(report.contains("d::inner -> a"), "{report}");
        let _ = fs::remove_dir_all(&dir);
    }

    /// Imports that do not spell out `crate::<module>` still count: a name
    /// the root re-exports, a child module named directly, a `super::` path
    /// in the code; and a `mod tests;` declaration does not end the scan.
    #[test]
    fn loops_through_root_reexports_and_relative_paths_are_found() {
        let dir = std::env::temp_dir().join(format!("layers-test-reexport-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let write = |file: &str, text: &str| {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write(
            "lib.rs",
            "mod error;\nmod source;\nmod call;\n#[cfg(test)]\nmod tests;\npub use error::Error;\npub use source::{Source, Kind as Sort};\n",
        );
        write("tests/mod.rs", "use crate::Source;\n");
        write("source.rs", "use crate::Error;\npub struct Source;\n");
        write("error.rs", "pub struct Error;\n");
        write("call/mod.rs", "mod classify;\nuse classify::Context;\n");
        write("call/classify.rs", "pub struct Context;\n");
        assert!(check(&dir).is_ok(), "{:?}", check(&dir));

        // error -> source through the root's re-export, source -> error.
        write("error.rs", "use crate::Source;\npub struct Error;\n");
        let report = check(&dir).unwrap_err();
        assert!(
            report.contains("error -> source (line 1: crate::Source)"),
            "{report}"
        );
        assert!(
            report.contains("source -> error (line 1: crate::Error)"),
            "{report}"
        );
        write("error.rs", "pub struct Error;\n");

        // call -> call::classify by the child's own name, classify -> error
        // by a written-out path, error -> call.
        write(
            "call/classify.rs",
            "pub struct Context;\nfn f() { crate::error::Error; }\n",
        );
        write(
            "error.rs",
            "pub struct Error;\nfn g() { crate::call::send(); }\n",
        );
        let report = check(&dir).unwrap_err();
        assert!(
            report.contains("call -> call::classify (line 2: classify::Context)"),
            "{report}"
        );
        assert!(report.contains("call::classify -> error"), "{report}");
        write("error.rs", "pub struct Error;\n");

        // A sibling reached through `super::` in the code.
        write(
            "call/classify.rs",
            "pub struct Context;\nfn f() { super::super::source::Source; }\n",
        );
        write("source.rs", "use crate::call::Context;\n");
        let report = check(&dir).unwrap_err();
        assert!(report.contains("call::classify -> source"), "{report}");
        let _ = fs::remove_dir_all(&dir);
    }
}
