//! Credentials, secrets and signers from the `LINE_*` environment
//! variables:
//!
//! | variable | what it holds |
//! |---|---|
//! | `LINE_CHANNEL_ID` | the channel ID (digits) |
//! | `LINE_CHANNEL_SECRET` | the channel secret |
//! | `LINE_ASSERTION_KEY_FILE` | the path of the private JWK that signs assertions |
//! | `LINE_ASSERTION_KID` | that key's kid, from the LINE Developers Console |

use crate::assertion::AssertionSigner;
use crate::credentials::ChannelCredentials;
use crate::env::{
    CHANNEL_SECRET, EnvError, KEY_FILE, KID, Lookup, channel_id, process_env, token_like,
};
use crate::key::{KeyError, PrivateJwk};
use crate::secret::ClientSecret;

/// The private key in the file `LINE_ASSERTION_KEY_FILE` names.
fn private_key(lookup: Lookup<'_>) -> Result<PrivateJwk, EnvError> {
    let path = lookup(KEY_FILE)
        .filter(|path| !path.is_empty())
        .ok_or(EnvError::missing(KEY_FILE))?;
    PrivateJwk::from_file(path).map_err(|error| {
        let why = match error {
            // These name the path: said without it.
            KeyError::File(_) => "cannot be read".to_owned(),
            KeyError::NotRegularFile(_) => "is not a regular file".to_owned(),
            // Said without quoting the file's fields (its kty, its alg).
            KeyError::WrongKeyType(_) | KeyError::WrongAlgorithm(_) => {
                "holds no RS256 RSA private key".to_owned()
            }
            other => format!("holds no usable private key: {other}"),
        };
        EnvError::key_file(KEY_FILE, why)
    })
}

impl ChannelCredentials {
    /// The channel ID and secret from `LINE_CHANNEL_ID` and
    /// `LINE_CHANNEL_SECRET`.
    ///
    /// ```no_run
    /// let creds = line_oauth::ChannelCredentials::from_env()?;
    /// # Ok::<(), line_oauth::EnvError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EnvError`] naming the first variable missing or malformed.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&process_env)
    }

    pub(crate) fn from_lookup(lookup: Lookup<'_>) -> Result<Self, EnvError> {
        let channel_id = channel_id(lookup)?;
        Ok(Self::new(
            channel_id.as_str(),
            ClientSecret::from_lookup(lookup)?,
        ))
    }
}

impl ClientSecret {
    /// The channel secret from `LINE_CHANNEL_SECRET`, for a channel ID
    /// that comes from elsewhere.
    ///
    /// ```no_run
    /// let secret = line_oauth::ClientSecret::from_env()?;
    /// let creds = line_oauth::ChannelCredentials::new("1234567890", secret);
    /// # Ok::<(), line_oauth::EnvError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EnvError`] when the variable is missing or malformed.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&process_env)
    }

    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, EnvError> {
        let secret = token_like(
            lookup,
            CHANNEL_SECRET,
            "a channel secret is visible ASCII with no spaces",
        )?;
        Ok(Self::new(secret.as_str()))
    }
}

impl AssertionSigner {
    /// A signer for `LINE_CHANNEL_ID` with the private key in the file
    /// `LINE_ASSERTION_KEY_FILE` names, under the kid in
    /// `LINE_ASSERTION_KID`.
    ///
    /// ```no_run
    /// let signer = line_oauth::AssertionSigner::from_env()?;
    /// # Ok::<(), line_oauth::EnvError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EnvError`] naming the first variable missing or malformed, or
    /// `LINE_ASSERTION_KEY_FILE` when its file holds no usable key.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&process_env)
    }

    pub(crate) fn from_lookup(lookup: Lookup<'_>) -> Result<Self, EnvError> {
        let channel_id = channel_id(lookup)?;
        let kid = token_like(lookup, KID, "a kid is visible ASCII with no spaces")?;
        let key = private_key(lookup)?;
        Ok(Self::new(&key, kid.as_str(), channel_id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use std::ffi::OsString;

    use super::*;
    use crate::env::CHANNEL_ID;

    /// Looks variables up in `vars`.
    fn from(vars: &HashMap<&str, OsString>) -> impl Fn(&str) -> Option<OsString> {
        move |name| vars.get(name).cloned()
    }

    /// Asserts `error` names `variable` and not `value`.
    fn names(error: &EnvError, variable: &str, value: &str) {
        let shown = format!("{error} {error:?}");
        assert_eq!(error.variable(), variable, "{shown}");
        assert!(shown.contains(variable), "{shown}");
        if !value.trim().is_empty() {
            assert!(!shown.contains(value.trim()), "the value shows: {shown}");
        }
    }

    fn good_credentials() -> HashMap<&'static str, OsString> {
        HashMap::from([
            (CHANNEL_ID, "1234567890".into()),
            (CHANNEL_SECRET, "s3cr3t-0f-the-channel".into()),
        ])
    }

    #[test]
    fn credentials_come_from_the_two_variables() {
        let mut vars = good_credentials();
        vars.insert(CHANNEL_SECRET, " s3cr3t-0f-the-channel\n".into());
        let creds = ChannelCredentials::from_lookup(&from(&vars)).unwrap();
        assert_eq!(creds.channel_id(), "1234567890");
        assert_eq!(creds.secret().expose_secret(), "s3cr3t-0f-the-channel");
    }

    #[test]
    fn each_credentials_variable_missing_or_malformed_is_named_without_its_value() {
        #[cfg(unix)]
        let not_unicode = {
            use std::os::unix::ffi::OsStringExt;
            OsString::from_vec(vec![0x66, 0xff, 0x6f])
        };
        #[cfg(not(unix))]
        let not_unicode = OsString::from("");
        let cases: [(&str, Option<OsString>); 9] = [
            (CHANNEL_ID, None),
            (CHANNEL_ID, Some("".into())),
            (CHANNEL_ID, Some("12345abcde".into())),
            (CHANNEL_ID, Some("123456789012345678901".into())),
            (CHANNEL_ID, Some(not_unicode.clone())),
            (CHANNEL_SECRET, None),
            (CHANNEL_SECRET, Some("   ".into())),
            (CHANNEL_SECRET, Some("secret with spaces".into())),
            (CHANNEL_SECRET, Some("sécret-ünicode".into())),
        ];
        for (variable, value) in cases {
            let mut vars = good_credentials();
            vars.remove(variable);
            let shown = value.clone().unwrap_or_default();
            if let Some(value) = value {
                vars.insert(variable, value);
            }
            let error = ChannelCredentials::from_lookup(&from(&vars)).unwrap_err();
            names(&error, variable, &shown.to_string_lossy());
        }
    }

    #[test]
    fn each_signer_variable_missing_or_malformed_is_named_without_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("private.jwk.json");
        let pair = crate::key::AssertionKeyPair::generate().unwrap();
        pair.private.to_file(&key).unwrap();
        let not_a_key = dir.path().join("not-a-key.json");
        std::fs::write(&not_a_key, r#"{"kty":"oct","k":"c2VjcmV0LWJ5dGVz"}"#).unwrap();
        let public_only = dir.path().join("public.jwk.json");
        std::fs::write(&public_only, pair.public.to_json()).unwrap();
        let good = || {
            HashMap::from([
                (CHANNEL_ID, OsString::from("1234567890")),
                (KEY_FILE, key.clone().into_os_string()),
                (KID, OsString::from("kid-0f-the-key")),
            ])
        };
        let signer = AssertionSigner::from_lookup(&from(&good())).unwrap();
        assert_eq!(signer.kid(), "kid-0f-the-key");
        assert_eq!(signer.channel_id(), "1234567890");
        let missing_file = dir.path().join("missing-file.json");
        let cases: [(&str, Option<OsString>); 8] = [
            (CHANNEL_ID, None),
            (CHANNEL_ID, Some("not-digits".into())),
            (KID, None),
            (KID, Some("kid with spaces".into())),
            (KEY_FILE, None),
            (KEY_FILE, Some(missing_file.into_os_string())),
            (KEY_FILE, Some(dir.path().as_os_str().to_owned())),
            (KEY_FILE, Some(not_a_key.clone().into_os_string())),
        ];
        for (variable, value) in cases
            .into_iter()
            .chain([(KEY_FILE, Some(public_only.clone().into_os_string()))])
        {
            let mut vars = good();
            vars.remove(variable);
            let shown = value.clone().unwrap_or_default();
            if let Some(value) = value {
                vars.insert(variable, value);
            }
            let error = AssertionSigner::from_lookup(&from(&vars)).unwrap_err();
            names(&error, variable, &shown.to_string_lossy());
        }
        // The key file's content never shows either.
        let mut vars = good();
        vars.insert(KEY_FILE, not_a_key.clone().into_os_string());
        let error = AssertionSigner::from_lookup(&from(&vars)).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("oct") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        let mut vars = good();
        vars.insert(KEY_FILE, public_only.into_os_string());
        let error = AssertionSigner::from_lookup(&from(&vars)).unwrap_err();
        assert!(!error.to_string().contains(&pair.public.n()), "{error}");
    }
}
