//! serde's error messages in the scenario format's words: "expected a number, found the
//! string \"high\"" rather than "invalid type: string \"high\", expected f64", "unknown
//! role \"rpc_sever\": expected one of the roles registry, rpc_server, …" rather than
//! "unknown variant". Rust type names (`u32`, `struct ClogSpec`, `internally tagged enum
//! Dist`) become what the file should hold, with an example.

use super::locate::Seg;

/// What a value of each type of the format looks like, by its Rust name (as serde's
/// messages say `struct X` or `internally tagged enum X`).
const SHAPES: [(&str, &str); 16] = [
    (
        "Dist",
        r#"a distribution object such as {"dist": "constant", "value": "1ms"}"#,
    ),
    (
        "Node",
        r#"a node object with an id and a role, such as {"id": "s1", "role": "rpc_server"}"#,
    ),
    (
        "FaultSpec",
        r#"a fault object such as {"kind": "crash", "at": "1s", "node": "s1"}"#,
    ),
    (
        "ArrivalsSpec",
        r#"an arrivals object such as {"kind": "batch", "jobs": 10}"#,
    ),
    (
        "ClogSpec",
        r#"a clog target such as {"node": "w1"} or {"from": "c1", "to": "s1"}"#,
    ),
    (
        "DurationRange",
        r#"a range of durations such as {"min": "100ms", "max": "1s"}"#,
    ),
    (
        "LinkSpec",
        r#"a link setting object such as {"latency": {"dist": "constant", "value": "1ms"}, "drop": 0.1}"#,
    ),
    (
        "LinkOverride",
        r#"a link override object such as {"from": "c1", "to": "s1", "drop": 0.2}"#,
    ),
    (
        "NetworkSpec",
        r#"a network object such as {"default": {"drop": 0.01}, "links": []}"#,
    ),
    (
        "NemesisSpec",
        r#"a nemesis object such as {"stop": "5s", "crash_rate": 0.5}"#,
    ),
    (
        "RegisterSpec",
        r#"a registration object such as {"registry": "r", "service": "arith", "ttl": "300ms"}"#,
    ),
    (
        "ServiceSpec",
        r#"a service object such as {"registry": "r", "service": "arith"}"#,
    ),
    (
        "MixSpec",
        r#"call weights such as {"multiply": 2, "divide": 1, "deposit": 1}"#,
    ),
    (
        "ChecksSpec",
        r#"a checks object such as {"rpc": true, "pool_liveness_bound": "10s"}"#,
    ),
    ("Scenario", "a scenario object"),
    ("FailureFile", "a FAILURE file object"),
];

/// `message` (serde's, for the value at `path`) in the format's words.
pub fn plain(message: &str, path: &[Seg]) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(i) = rest.rfind(", expected ")
        {
            let (found, expected) = (&rest[..i], &rest[i + ", expected ".len()..]);
            return format!(
                "expected {}, found {}",
                expected_words(expected, path),
                found_words(found)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some((name, list)) = rest.split_once(", expected ")
    {
        let (one, many) = variant_noun(path);
        let names = list
            .trim_start_matches("one of ")
            .replace(" or ", ", ")
            .replace('`', "");
        return format!("unknown {one} {}: expected one of the {many} {names}", quoted(name));
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some((name, list)) = rest.split_once(", expected ")
    {
        let fields = list
            .trim_start_matches("one of ")
            .replace(" or ", ", ")
            .replace('`', "");
        return format!("unknown field {name}: expected one of {fields}");
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some(name) = rest.strip_suffix(", there are no fields")
    {
        return format!("unknown field {name}: this object takes no fields");
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return format!("field {rest} is given twice");
    }
    message.to_string()
}

/// `` `name` `` as `"name"`.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.trim_matches('`'))
}

/// The thing a tag names, by the tag's key: the last key of the path.
fn variant_noun(path: &[Seg]) -> (&'static str, &'static str) {
    let key = path.iter().rev().find_map(|s| match s {
        Seg::Key(k) => Some(k.as_str()),
        Seg::Index(_) => None,
    });
    match key {
        Some("role") => ("role", "roles"),
        Some("kind") => ("kind", "kinds"),
        Some("dist") => ("distribution", "distributions"),
        _ => ("name", "names"),
    }
}

/// What serde says was expected, as the format says it.
fn expected_words(expected: &str, path: &[Seg]) -> String {
    let shape = |name: &str| {
        SHAPES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| "an object".to_string(), |(_, s)| (*s).to_string())
    };
    if let Some(name) = expected.strip_prefix("internally tagged enum ") {
        return shape(name);
    }
    if let Some(name) = expected.strip_prefix("struct ") {
        return shape(name);
    }
    match expected {
        "u8" | "u16" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "u32" => "a whole number from 0 to 4294967295".into(),
        "i64" | "i32" => "a whole number".into(),
        "f64" | "f32" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "an array".into(),
        "a map" => "an object".into(),
        "variant identifier" => format!("the name of a {} (a string)", variant_noun(path).0),
        other => other.to_string(),
    }
}

/// What serde says was found (its `Unexpected`), as the format says it.
fn found_words(found: &str) -> String {
    let inner = |s: &str| s.trim_matches('`').to_string();
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the string {s}");
    }
    if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        return format!("the number {}", inner(n));
    }
    if let Some(b) = found.strip_prefix("boolean ") {
        return inner(b);
    }
    match found {
        "map" => "an object".into(),
        "sequence" => "an array".into(),
        "unit value" | "null" => "null".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(keys: &[&str]) -> Vec<Seg> {
        keys.iter().map(|k| Seg::Key(k.to_string())).collect()
    }

    #[test]
    fn serde_words_become_the_formats() {
        for (message, path, want) in [
            (
                "invalid type: map, expected a duration such as \"250ms\"",
                at(&["think"]),
                "expected a duration such as \"250ms\", found an object",
            ),
            (
                "invalid type: string \"1ms\", expected internally tagged enum Dist",
                at(&["latency"]),
                r#"expected a distribution object such as {"dist": "constant", "value": "1ms"}, found the string "1ms""#,
            ),
            (
                "invalid type: string \"high\", expected f64",
                at(&["drop"]),
                "expected a number, found the string \"high\"",
            ),
            (
                "invalid value: integer `-1`, expected u64",
                at(&["seed"]),
                "expected a whole number, 0 or more, found the number -1",
            ),
            (
                "invalid type: integer `5`, expected variant identifier",
                at(&["role"]),
                "expected the name of a role (a string), found the number 5",
            ),
            (
                "unknown variant `rpc_sever`, expected one of `registry`, `rpc_server`",
                at(&["role"]),
                "unknown role \"rpc_sever\": expected one of the roles registry, rpc_server",
            ),
            (
                "unknown variant `x`, expected `a` or `b`",
                at(&["dist"]),
                "unknown distribution \"x\": expected one of the distributions a, b",
            ),
            (
                "unknown field `dedup`, expected one of `id`, `dedupe`",
                at(&["dedup"]),
                "unknown field `dedup`: expected one of id, dedupe",
            ),
            ("duplicate field `dedupe`", at(&[]), "field `dedupe` is given twice"),
            (
                "invalid type: string \"s\", expected struct Unlisted",
                at(&[]),
                "expected an object, found the string \"s\"",
            ),
            ("missing field `name`", at(&[]), "missing field `name`"),
            (
                "invalid type: boolean `true`, expected a sequence",
                at(&[]),
                "expected an array, found true",
            ),
            (
                "invalid type: null, expected a string",
                at(&[]),
                "expected a string, found null",
            ),
        ] {
            assert_eq!(plain(message, &path), want, "{message}");
        }
    }

    #[test]
    fn a_string_that_looks_like_the_message_is_not_split_inside() {
        let m = "invalid type: string \"a, expected b\", expected f64";
        assert_eq!(plain(m, &[]), "expected a number, found the string \"a, expected b\"");
    }
}
