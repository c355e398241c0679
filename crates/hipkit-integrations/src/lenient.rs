//! [`Node`]: one JSON value read leniently in a single pass, for the few webhook fields intake
//! looks at. Whatever the value's type, it deserializes (so a field of an unexpected type is
//! reported by intake by name, not as a parse error), and nothing it does not need is built.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A JSON value as intake sees it; `T` is what an object reads as.
#[derive(Debug, Default)]
pub enum Node<'a, T> {
    /// The key is not there.
    #[default]
    Absent,
    /// A string (borrowed from the body unless it has escapes).
    Str(Cow<'a, str>),
    /// A non-negative whole number.
    Whole(u64),
    /// An object.
    Object(T),
    /// Anything else: `null`, a boolean, another number, an array.
    Other,
}

/// An object whose fields do not matter.
pub type Scalar<'a> = Node<'a, IgnoredAny>;

impl<'a, T> Node<'a, T> {
    /// Whether the key was there (with any value, `null` included).
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The string, if it is one.
    pub fn into_string(self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s.into_owned()),
            _ => None,
        }
    }

    /// The object's reading, if it is an object.
    pub fn into_object(self) -> Option<T> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Node<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor(PhantomData))
    }
}

struct NodeVisitor<'a, T>(PhantomData<(Cow<'a, str>, T)>);

impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for NodeVisitor<'a, T> {
    type Value = Node<'a, T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Node::Whole(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).map_or(Node::Other, Node::Whole))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Node::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Node::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Node::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Node::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Node::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    struct Named<'a> {
        #[serde(borrow, default)]
        name: Scalar<'a>,
    }

    fn read(json: &str) -> Node<'_, Named<'_>> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_json_type_reads() {
        assert!(matches!(read(r#""a""#), Node::Str(Cow::Borrowed("a"))));
        assert!(matches!(read(r#""\u00e9""#), Node::Str(Cow::Owned(s)) if s == "é"));
        assert!(matches!(read("7"), Node::Whole(7)));
        for other in ["-1", "1.5", "true", "null", r#"[1, {"a": [2]}, "x"]"#] {
            assert!(matches!(read(other), Node::Other), "{other}");
        }
        let Node::Object(o) = read(r#"{"x": {"y": [1]}, "name": "n"}"#) else {
            panic!("an object");
        };
        assert_eq!(o.name.into_string().as_deref(), Some("n"));
        assert!(!Named::default().name.is_present());
        assert!(serde_json::from_str::<Node<Named>>(r#"{"name": }"#).is_err());
    }
}
