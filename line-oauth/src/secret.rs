//! Types that hold secrets: access tokens, channel secrets, JWT assertions.
//!
//! Their `Debug` and `Display` never show the value; only an explicit
//! `expose_secret()` does. The value is overwritten with zeros when dropped.
//!
//! ```
//! use line_oauth::AccessToken;
//!
//! let token = AccessToken::new("eyJhbGciOi...");
//! assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
//! assert_eq!(token.to_string(), "[redacted]");
//! assert_eq!(token.expose_secret(), "eyJhbGciOi...");
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// The name each secret type gives itself when serialised (as a newtype
/// struct), so that the call path finds every secret field of a request by
/// serialising it, whatever the field is called.
pub(crate) const SECRET: &str = "line_oauth::Secret";

/// Defines a secret string type: redacted `Debug`/`Display`, explicit
/// access, zeroized on drop, serialised as a plain string (for the wire).
macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value. Every use is a place the secret can leak:
            /// keep it out of logs and error messages.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        // A plain string to every text format (JSON, forms, queries). To the
        // crate's request walker, which says it is not human-readable, a
        // newtype that marks the field as secret; binary formats treat
        // newtypes as their content, so they see the same string.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&self.0)
                } else {
                    serializer.serialize_newtype_struct(SECRET, &self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self)
            }
        }

        // A plain string as a schema too (feature `schemars`).
        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_owned()
            }

            fn schema_id() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(concat!("line_oauth::", stringify!($name)))
            }

            fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
                <String as schemars::JsonSchema>::json_schema(generator)
            }
        }
    };
}

secret_string! {
    /// A channel access token: what the Messaging API takes as a bearer token.
    ///
    /// ```
    /// let token = line_oauth::AccessToken::new("eyJ...");
    /// assert!(!format!("{token:?}").contains("eyJ"));
    /// ```
    AccessToken
}

secret_string! {
    /// A channel secret, from the LINE Developers Console.
    ///
    /// ```
    /// let secret = line_oauth::ClientSecret::new("8f2d...");
    /// assert!(!format!("{secret:?} {secret}").contains("8f2d"));
    /// ```
    ClientSecret
}

secret_string! {
    /// A signed JWT client assertion (RFC 7523) that identifies a channel.
    ///
    /// ```
    /// let assertion = line_oauth::ClientAssertion::new("eyJhbGciOiJSUzI1NiJ9...");
    /// assert_eq!(assertion.to_string(), "[redacted]");
    /// ```
    ClientAssertion
}

impl AccessToken {
    /// Whether it is the same token as `other`, compared in constant time:
    /// the one comparison of tokens in the crate.
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "s3cr3t-value";

    fn assert_redacted(debug: String, display: String) {
        assert!(!debug.contains(VALUE), "Debug leaks: {debug}");
        assert!(!display.contains(VALUE), "Display leaks: {display}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }

    #[test]
    fn every_secret_type_redacts_debug_and_display() {
        let token = AccessToken::new(VALUE);
        let secret = ClientSecret::new(VALUE);
        let assertion = ClientAssertion::new(VALUE);
        assert_redacted(format!("{token:?}"), token.to_string());
        assert_redacted(format!("{secret:?}"), secret.to_string());
        assert_redacted(format!("{assertion:?}"), assertion.to_string());
        assert_redacted(format!("{token:#?}"), format!("{token:>40}"));
    }

    #[test]
    fn the_value_goes_out_only_on_purpose_and_on_the_wire() {
        let token = AccessToken::new(VALUE);
        assert_eq!(token.expose_secret(), VALUE);
        assert_eq!(
            serde_json::to_string(&token).unwrap(),
            format!("\"{VALUE}\"")
        );
        let back: AccessToken = serde_json::from_str(&format!("\"{VALUE}\"")).unwrap();
        assert_eq!(back.expose_secret(), VALUE);
    }

    #[cfg(feature = "schemars")]
    #[test]
    fn schema_is_a_plain_string() {
        let schema = schemars::schema_for!(ClientSecret);
        let json = serde_json::to_value(&schema).unwrap();
        assert_eq!(json["type"], "string");
    }
}
