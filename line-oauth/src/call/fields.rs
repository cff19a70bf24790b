//! What a request carries, read from the request itself: its fields, and
//! which of them are secrets. A walk over the request's `Serialize`: to this
//! walker (which is not human-readable) the secret types serialize as a
//! newtype named [`SECRET`], so every secret field is found, whatever the
//! request and however many it has.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// The newtype name under which the secret types serialize themselves.
use crate::secret::SECRET;

/// One field of a request, as it goes on the wire.
pub(crate) struct Field<'a> {
    /// The wire name, such as `client_secret`.
    pub(crate) name: &'static str,
    /// The value as text.
    pub(crate) value: &'a str,
    /// Whether it is a token, a channel secret or an assertion.
    pub(crate) secret: bool,
}

/// Calls `visit` with each text field of `request`. Requests are flat
/// records of text and enums; anything else is skipped.
pub(crate) fn for_each_field(request: &impl Serialize, mut visit: impl FnMut(Field<'_>)) {
    let _ = request.serialize(Walker {
        field: "",
        secret: false,
        visit: &mut visit,
    });
}

/// The values of the secret fields of `request`.
pub(crate) fn secrets(request: &impl Serialize) -> Vec<String> {
    let mut secrets = Vec::new();
    for_each_field(request, |field| {
        if field.secret {
            secrets.push(field.value.to_owned());
        }
    });
    secrets
}

/// The name of the first field of `request` whose value is empty.
pub(crate) fn first_empty(request: &impl Serialize) -> Option<&'static str> {
    let mut empty = None;
    for_each_field(request, |field| {
        if field.value.is_empty() {
            empty = empty.or(Some(field.name));
        }
    });
    empty
}

/// The walk ends early only when a request holds something it skips.
#[derive(Debug)]
struct Skipped;

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a flat request")
    }
}

impl std::error::Error for Skipped {}

impl ser::Error for Skipped {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Skipped
    }
}

struct Walker<'v, F> {
    field: &'static str,
    secret: bool,
    visit: &'v mut F,
}

impl<F: FnMut(Field<'_>)> Walker<'_, F> {
    fn text(self, value: &str) -> Result<(), Skipped> {
        (self.visit)(Field {
            name: self.field,
            value,
            secret: self.secret,
        });
        Ok(())
    }
}

impl<F: FnMut(Field<'_>)> ser::SerializeStruct for Walker<'_, F> {
    type Ok = ();
    type Error = Skipped;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Skipped> {
        value.serialize(Walker {
            field: key,
            secret: false,
            visit: &mut *self.visit,
        })
    }

    fn end(self) -> Result<(), Skipped> {
        Ok(())
    }
}

/// Numbers and flags are never secret and never empty: nothing to visit.
macro_rules! nothing_to_visit {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(fn $method(self, _: $type) -> Result<(), Skipped> { Ok(()) })*
    };
}

impl<'v, F: FnMut(Field<'_>)> ser::Serializer for Walker<'v, F> {
    type Ok = ();
    type Error = Skipped;
    type SerializeSeq = Impossible<(), Skipped>;
    type SerializeTuple = Impossible<(), Skipped>;
    type SerializeTupleStruct = Impossible<(), Skipped>;
    type SerializeTupleVariant = Impossible<(), Skipped>;
    type SerializeMap = Impossible<(), Skipped>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Skipped>;

    /// What makes the secret types show themselves as such.
    fn is_human_readable(&self) -> bool {
        false
    }

    nothing_to_visit!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8]),
    );

    fn serialize_char(self, value: char) -> Result<(), Skipped> {
        self.text(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<(), Skipped> {
        self.text(value)
    }

    fn serialize_none(self) -> Result<(), Skipped> {
        Ok(())
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Skipped> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Skipped> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Skipped> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Skipped> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Skipped> {
        value.serialize(Walker {
            secret: self.secret || name == SECRET,
            ..self
        })
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Skipped> {
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Skipped> {
        Err(Skipped)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Skipped> {
        Err(Skipped)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Skipped> {
        Err(Skipped)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Skipped> {
        Err(Skipped)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Skipped> {
        Err(Skipped)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Skipped> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Skipped> {
        Err(Skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AccessToken, ClientSecret};

    #[derive(serde::Serialize)]
    struct Request {
        grant_type: &'static str,
        client_id: String,
        client_secret: ClientSecret,
        access_token: Option<AccessToken>,
        expires: u32,
    }

    #[test]
    fn secret_fields_are_found_by_type_and_empty_ones_by_value() {
        let request = Request {
            grant_type: "client_credentials",
            client_id: String::new(),
            client_secret: ClientSecret::new("s3cret"),
            access_token: Some(AccessToken::new("t0ken")),
            expires: 0,
        };
        assert_eq!(secrets(&request), ["s3cret", "t0ken"]);
        assert_eq!(first_empty(&request), Some("client_id"));
    }
}
