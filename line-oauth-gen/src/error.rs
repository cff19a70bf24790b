//! What can go wrong while generating.

use std::fmt;

/// Why a spec could not be turned into Rust source.
///
/// ```
/// use line_oauth_gen::{GenError, generate};
///
/// let err = generate("spec/x.yaml", "openapi: 3.0.3\nopenapi: 3.0.3\n").unwrap_err();
/// assert!(matches!(err, GenError::Parse { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GenError {
    /// The text is not YAML, or not an OpenAPI 3.0 document.
    Parse {
        /// The spec file, as given to [`generate`](crate::generate).
        spec: String,
        /// The parser's account of the problem, with its position.
        detail: String,
    },
    /// progenitor refused the document, or panicked on it.
    Generator {
        /// The spec file, as given to [`generate`](crate::generate).
        spec: String,
        /// progenitor's account of the problem.
        detail: String,
    },
    /// progenitor produced tokens that are not a Rust file (a generator bug).
    Syntax(String),
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse { spec, detail } => {
                write!(
                    f,
                    "{spec} is not a valid OpenAPI 3.0 YAML document: {detail}"
                )
            }
            Self::Generator { spec, detail } => {
                write!(f, "cannot generate a client from {spec}: {detail}")
            }
            Self::Syntax(detail) => write!(f, "generated code is not valid Rust: {detail}"),
        }
    }
}

impl std::error::Error for GenError {}
