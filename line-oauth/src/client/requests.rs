//! The 8 operations as [`Request`]s: the generated request bodies, and two
//! small records for the GET calls, each with its name, its idempotency and
//! the generated method that sends it.

use std::future::Future;

use progenitor_client::ResponseValue;
use serde::Serialize;

use crate::call::{Idempotency, Request};
use crate::error::Operation;
use crate::raw::{self, types};
use crate::secret::{AccessToken, ClientAssertion};

/// The only client assertion type LINE accepts.
pub(crate) const JWT_BEARER: types::ClientAssertionType =
    types::ClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer;

/// Implements [`Request`] for a request type sent by one generated method.
macro_rules! request {
    ($type:ty, $operation:ident, $idempotency:ident, $answer:ty, |$request:ident, $raw:ident| $send:expr) => {
        impl Request for $type {
            const OPERATION: Operation = Operation::$operation;
            const IDEMPOTENCY: Idempotency = Idempotency::$idempotency;
            type Answer = $answer;

            fn send<'a>(
                &'a self,
                $raw: &'a raw::Client,
            ) -> impl Future<Output = Result<ResponseValue<$answer>, raw::Error<()>>> + Send + 'a
            {
                let $request = self;
                $send
            }
        }
    };
}

/// `GET /oauth2/v2.1/verify`: the token goes in the query.
#[derive(Serialize)]
pub(crate) struct VerifyV21<'a> {
    pub(crate) access_token: &'a AccessToken,
}

/// `GET /oauth2/v2.1/tokens/kid`: the assertion goes in the query.
#[derive(Serialize)]
pub(crate) struct ValidV21KeyIds<'a> {
    pub(crate) client_assertion: &'a ClientAssertion,
}

request!(
    types::IssueShortLivedChannelTokenRequest,
    IssueShortLived,
    UnlessSent,
    types::IssueShortLivedChannelAccessTokenResponse,
    |request, raw| raw.issue_channel_token(request)
);
request!(
    types::IssueChannelTokenByJwtRequest,
    IssueV21,
    UnlessSent,
    types::IssueChannelAccessTokenResponse,
    |request, raw| raw.issue_channel_token_by_jwt(request)
);
request!(
    types::IssueStatelessChannelTokenRequest,
    IssueStateless,
    Safe,
    types::IssueStatelessChannelAccessTokenResponse,
    |request, raw| raw.issue_stateless_channel_token(request)
);
request!(
    types::VerifyChannelTokenRequest,
    Verify,
    Safe,
    types::VerifyChannelAccessTokenResponse,
    |request, raw| raw.verify_channel_token(request)
);
request!(
    VerifyV21<'_>,
    VerifyV21,
    Safe,
    types::VerifyChannelAccessTokenResponse,
    |request, raw| raw.verify_channel_token_by_jwt(request.access_token)
);
request!(
    types::RevokeChannelTokenRequest,
    Revoke,
    Safe,
    (),
    |request, raw| raw.revoke_channel_token(request)
);
request!(
    types::RevokeChannelTokenByJwtRequest,
    RevokeV21,
    Safe,
    (),
    |request, raw| raw.revoke_channel_token_by_jwt(request)
);
request!(
    ValidV21KeyIds<'_>,
    ListV21KeyIds,
    Safe,
    types::ChannelAccessTokenKeyIdsResponse,
    |request, raw| raw
        .gets_all_valid_channel_access_token_key_ids(request.client_assertion, JWT_BEARER)
);
