//! Reading the `LINE_*` environment variables the command line tool
//! documents, and [`EnvError`] for one missing or malformed. The
//! constructors that read them are beside the types they make
//! (`credentials::from_env`). Below every module that makes them, so
//! that `Error` can carry `EnvError` with no import loop.

use std::ffi::OsString;
use std::fmt;

use zeroize::Zeroizing;

/// The channel ID variable.
pub(crate) const CHANNEL_ID: &str = "LINE_CHANNEL_ID";
/// The channel secret variable.
pub(crate) const CHANNEL_SECRET: &str = "LINE_CHANNEL_SECRET";
/// The private key file variable.
pub(crate) const KEY_FILE: &str = "LINE_ASSERTION_KEY_FILE";
/// The kid variable.
pub(crate) const KID: &str = "LINE_ASSERTION_KID";

/// A `LINE_*` variable missing or malformed. It names the variable and
/// never shows its value.
///
/// ```
/// # fn run() -> Result<(), line_oauth::EnvError> {
/// let creds = line_oauth::ChannelCredentials::from_env()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    variable: &'static str,
    problem: Problem,
}

/// What is wrong with the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Missing,
    NotUnicode,
    /// What a well-formed value looks like.
    Malformed(&'static str),
    /// The key file it names cannot be used, and why (with no path).
    Key(String),
}

impl EnvError {
    /// `variable` names a key file that cannot be used: `why`, which must
    /// not show the path.
    pub(crate) fn key_file(variable: &'static str, why: String) -> Self {
        Self {
            variable,
            problem: Problem::Key(why),
        }
    }

    /// `variable` is not set.
    pub(crate) fn missing(variable: &'static str) -> Self {
        Self {
            variable,
            problem: Problem::Missing,
        }
    }
}

impl EnvError {
    /// The variable at fault, such as `LINE_CHANNEL_ID`.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// Whether the variable is not set (or set to nothing).
    pub fn is_missing(&self) -> bool {
        self.problem == Problem::Missing
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variable = self.variable;
        match &self.problem {
            Problem::Missing => write!(f, "{variable} is not set"),
            Problem::NotUnicode => write!(f, "{variable} is not valid Unicode"),
            Problem::Malformed(expected) => write!(f, "{variable} is malformed: {expected}"),
            Problem::Key(why) => write!(f, "{variable} names a key file that {why}"),
        }
    }
}

impl std::error::Error for EnvError {}

/// Reads variables: the process environment, or a test's map.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The value of `variable`, set and not empty, wiped from memory when
/// dropped (as every copy made here): the value may be a secret.
pub(crate) fn required(
    lookup: Lookup<'_>,
    variable: &'static str,
) -> Result<Zeroizing<String>, EnvError> {
    let error = |problem| EnvError { variable, problem };
    let value = lookup(variable).ok_or(error(Problem::Missing))?;
    let value = Zeroizing::new(value.into_string().map_err(|value| {
        drop(Zeroizing::new(value.into_encoded_bytes()));
        error(Problem::NotUnicode)
    })?);
    // Surrounding whitespace (a newline from a file) is not part of it.
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(error(Problem::Missing));
    }
    Ok(Zeroizing::new(trimmed.to_owned()))
}

/// A value that must be non-empty visible ASCII with no spaces.
pub(crate) fn token_like(
    lookup: Lookup<'_>,
    variable: &'static str,
    expected: &'static str,
) -> Result<Zeroizing<String>, EnvError> {
    let value = required(lookup, variable)?;
    if value.len() > 1024 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EnvError {
            variable,
            problem: Problem::Malformed(expected),
        });
    }
    Ok(value)
}

/// The channel ID: digits.
pub(crate) fn channel_id(lookup: Lookup<'_>) -> Result<Zeroizing<String>, EnvError> {
    let value = required(lookup, CHANNEL_ID)?;
    if value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EnvError {
            variable: CHANNEL_ID,
            problem: Problem::Malformed("a channel ID is up to 20 digits"),
        });
    }
    Ok(value)
}

/// The process environment, as a [`Lookup`].
pub(crate) fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}
