//! Shared support for the workspace integration tests in `tests/tests/`.
