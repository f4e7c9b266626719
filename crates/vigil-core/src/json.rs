//! JSON from senders, read as plain data.
//!
//! serde_json gives two object keys a private meaning when it builds a [`Value`]:
//! `$serde_json::private::Number` (how a number arrives under `arbitrary_precision`) and, when
//! any crate of the build turns on serde_json's `raw_value` feature (axum does),
//! `$serde_json::private::RawValue`, whose string is parsed again as JSON with a fresh nesting
//! budget. A sender's object with that key would become whatever its string holds: nested past
//! the limit every later reader keeps to (an entry nobody could read back), or, string within
//! string, deep enough to overflow the stack. [`Plain`] reads every key as an ordinary key and
//! keeps serde_json's one nesting limit; only the number key keeps its meaning, as numbers
//! arrive through it.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::{Map, Number, Value};

/// serde_json's key for a number under `arbitrary_precision`.
const NUMBER_KEY: &str = "$serde_json::private::Number";

/// A JSON value read with every object key taken as written (see the module).
#[derive(Debug, Clone, PartialEq)]
pub struct Plain(pub Value);

impl<'de> serde::Deserialize<'de> for Plain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PlainVisitor).map(Plain)
    }
}

struct PlainVisitor;

impl<'de> Visitor<'de> for PlainVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Plain(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Value::Object(Map::new()));
        };
        if first == NUMBER_KEY {
            let digits: String = map.next_value()?;
            let number = digits.parse::<Number>().map_err(de::Error::custom)?;
            if map.next_key::<de::IgnoredAny>()?.is_some() {
                return Err(de::Error::custom("a number's object has one key"));
            }
            return Ok(Value::Number(number));
        }
        let mut object = Map::new();
        let Plain(v) = map.next_value()?;
        object.insert(first, v);
        while let Some(key) = map.next_key::<String>()? {
            let Plain(v) = map.next_value()?;
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

/// For `#[serde(deserialize_with)]`: a value read as [`Plain`].
pub fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Plain::deserialize(d).map(|p| p.0)
}

/// For `#[serde(deserialize_with)]`: an optional object read as [`Plain`].
pub fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    match Option::<Plain>::deserialize(d)? {
        None | Some(Plain(Value::Null)) => Ok(None),
        Some(Plain(Value::Object(m))) => Ok(Some(m)),
        Some(_) => Err(de::Error::custom("expected an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_are_ordinary_keys_and_numbers_keep_their_text() {
        let text = r#"{"$serde_json::private::RawValue":"[[[1]]]","n":1.50,"big":123456789012345678901234567890,"neg":-0,"e":1e5,"s":"é\n","a":[true,null,{}]}"#;
        let Plain(v) = serde_json::from_str(text).unwrap();
        assert_eq!(
            v["$serde_json::private::RawValue"],
            Value::String("[[[1]]]".into())
        );
        // Everything else is read exactly as serde_json reads it (numbers keep their text).
        let plain_part = text.replace(r#""$serde_json::private::RawValue":"[[[1]]]","#, "");
        let Plain(p) = serde_json::from_str(&plain_part).unwrap();
        let by_serde: Value = serde_json::from_str(&plain_part).unwrap();
        assert_eq!(p, by_serde);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&by_serde).unwrap()
        );
        assert_eq!(p["big"].to_string(), "123456789012345678901234567890");
        // Deeper than serde_json's limit is refused, as it is for Value, even when hidden in
        // a string under the private key.
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<Plain>(&deep).is_err());
        let hidden = format!(
            r#"{{"$serde_json::private::RawValue":{}}}"#,
            serde_json::to_string(&deep).unwrap()
        );
        let Plain(v) = serde_json::from_str(&hidden).unwrap();
        assert_eq!(v["$serde_json::private::RawValue"], Value::String(deep));
    }
}
