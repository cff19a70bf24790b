//! The request hooks of the generated client.

use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::raw::Client;

/// The header progenitor adds to every request. LINE does not use it.
const API_VERSION_HEADER: &str = "api-version";

impl ClientHooks for Client {
    /// Drops progenitor's `api-version` header, so that only the headers LINE
    /// needs go out.
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove(API_VERSION_HEADER);
        Ok(())
    }
}
