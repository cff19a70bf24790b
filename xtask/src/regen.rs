//! `cargo xtask regen [--check]`: keep the generated client in step with the spec.

use std::fs;
use std::path::{Path, PathBuf};

use similar::TextDiff;

/// The spec, relative to the workspace root.
const SPEC: &str = "spec/channel-access-token.yaml";
/// The generated client, relative to the workspace root.
const GENERATED: &str = "line-oauth/src/raw/generated.rs";
/// The most diff lines a failed check prints.
const DIFF_LINES: usize = 40;

/// Writes the generated client; says whether it changed.
pub fn regen() -> Result<String, String> {
    let fresh = fresh_source()?;
    let path = root().join(GENERATED);
    if current_source(&path)?.as_deref() == Some(fresh.as_str()) {
        return Ok(format!("{GENERATED} is up to date"));
    }
    fs::write(&path, fresh).map_err(|e| format!("cannot write {GENERATED}: {e}"))?;
    Ok(format!("wrote {GENERATED}"))
}

/// Fails, with a short diff and the fixing command, when the checked-in
/// client differs from what the spec generates.
pub fn check() -> Result<String, String> {
    let fresh = fresh_source()?;
    let current = current_source(&root().join(GENERATED))?.unwrap_or_default();
    if current == fresh {
        return Ok(format!("{GENERATED} is up to date with {SPEC}"));
    }
    Err(format!(
        "{GENERATED} is stale: it is not what {SPEC} generates (it was edited by hand, \
         or the spec or generator changed).\n{}\nFix: run `cargo xtask regen` and commit the result.",
        short_diff(&current, &fresh)
    ))
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The client source the spec generates now.
fn fresh_source() -> Result<String, String> {
    let spec =
        fs::read_to_string(root().join(SPEC)).map_err(|e| format!("cannot read {SPEC}: {e}"))?;
    line_oauth_gen::generate(SPEC, &spec).map_err(|e| e.to_string())
}

/// The checked-in client source with LF line endings, or `None` when absent.
fn current_source(path: &Path) -> Result<Option<String>, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.replace("\r\n", "\n"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// A unified diff from `current` to `fresh`, cut to [`DIFF_LINES`] lines.
fn short_diff(current: &str, fresh: &str) -> String {
    let diff = TextDiff::from_lines(current, fresh)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{GENERATED} (checked in)"),
            &format!("{GENERATED} (from {SPEC})"),
        )
        .to_string();
    let total = diff.lines().count();
    let mut shown: String = diff
        .lines()
        .take(DIFF_LINES)
        .map(|l| format!("{l}\n"))
        .collect();
    if total > DIFF_LINES {
        shown.push_str(&format!("... {} more diff lines\n", total - DIFF_LINES));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test --workspace` fails when the generated client is stale.
    #[test]
    fn generated_client_is_up_to_date() {
        if let Err(message) = check() {
            panic!("{message}");
        }
    }

    #[test]
    fn short_diff_is_cut_and_says_how_much_is_left() {
        let current: String = (0..100).map(|i| format!("a{i}\n")).collect();
        let fresh: String = (0..100).map(|i| format!("b{i}\n")).collect();
        let diff = short_diff(&current, &fresh);
        assert_eq!(diff.lines().count(), DIFF_LINES + 1);
        assert!(diff.ends_with("more diff lines\n"), "{diff}");
        assert!(diff.contains("\n-a0\n"), "{diff}");
        assert!(short_diff("a\n", "b\n").contains("\n-a\n+b\n"));
    }

    #[test]
    fn two_generations_give_identical_bytes() {
        assert_eq!(fresh_source().unwrap(), fresh_source().unwrap());
    }
}
