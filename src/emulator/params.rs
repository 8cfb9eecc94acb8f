//! A Web API call's arguments, however they came: query string, form body or JSON body.
//!
//! Form values are strings; JSON values keep their types. The getters accept both, as
//! Slack does (`limit=15` and `{"limit": 15}` mean the same).

use serde_json::{Map, Value};

#[derive(Clone, Debug, Default)]
pub(crate) struct Params(pub Map<String, Value>);

impl Params {
    pub(crate) fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    pub(crate) fn bool(&self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::String(s)) => matches!(s.as_str(), "true" | "1"),
            _ => false,
        }
    }

    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A structured argument (blocks, metadata): JSON in JSON bodies, a JSON string in forms.
    /// `Err` when present but not valid JSON.
    pub(crate) fn json(&self, key: &str) -> Result<Option<Value>, ()> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// A comma-separated list (`users=U1,U2`), or a JSON array.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        Params(v.as_object().unwrap().clone())
    }

    #[test]
    fn form_strings_and_json_types_read_alike() {
        let form = params(json!({"limit": "15", "inclusive": "true", "users": "U1, U2"}));
        let body = params(json!({"limit": 15, "inclusive": true, "users": ["U1", "U2"]}));
        for p in [form, body] {
            assert_eq!(p.int("limit"), Some(15));
            assert!(p.bool("inclusive"));
            assert_eq!(p.list("users"), vec!["U1", "U2"]);
            assert_eq!(p.str("limit").as_deref(), Some("15"));
        }
    }

    #[test]
    fn structured_arguments_parse_from_strings_or_values() {
        let form = params(json!({"metadata": "{\"event_type\":\"x\"}", "bad": "{nope"}));
        assert_eq!(form.json("metadata"), Ok(Some(json!({"event_type": "x"}))));
        assert_eq!(form.json("bad"), Err(()));
        assert_eq!(form.json("absent"), Ok(None));
        assert_eq!(
            params(json!({"metadata": {"a": 1}})).json("metadata"),
            Ok(Some(json!({"a": 1})))
        );
        assert_eq!(params(json!({"channel": ""})).str("channel"), None);
    }
}
