//! English for printed counts and roles: [`count`] writes "1 seed" / "2 seeds", and
//! [`with_article`] writes "a worker" / "an rpc_client", so no message says "1 seeds" or
//! "a rpc_client".

/// `n` and the noun, plural unless `n` is 1: `count(1, "seed")` is "1 seed",
/// `count(3, "entry")` is "3 entries".
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// The plural of an English noun (regular forms: "seed" → "seeds", "expiry" →
/// "expiries", "process" → "processes").
pub fn plural(noun: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    let mut rev = noun.chars().rev();
    match (rev.next(), rev.next()) {
        (Some('y'), Some(c)) if !vowel(c) => format!("{}ies", &noun[..noun.len() - 1]),
        (Some('s' | 'x'), _) | (Some('h'), Some('c' | 's')) => format!("{noun}es"),
        _ => format!("{noun}s"),
    }
}

/// "a" or "an", by the sound the word starts with: "an" before a vowel, and before an
/// initialism read letter by letter whose first letter's name starts with a vowel sound
/// ("an rpc_client": "ar-pee-see"). A leading part without vowels ("rpc", "http") is
/// taken as an initialism.
pub fn article(word: &str) -> &'static str {
    let lower = word.to_ascii_lowercase();
    let head = lower.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
    let Some(first) = head.chars().next() else {
        return "a";
    };
    let initialism = head.len() > 1 && !head.chars().any(|c| "aeiouy".contains(c));
    let vowel_sound = if initialism {
        "aefhilmnorsx".contains(first)
    } else {
        "aeiou".contains(first)
    };
    if vowel_sound { "an" } else { "a" }
}

/// The word with its article: "a worker", "an rpc_server".
pub fn with_article(word: &str) -> String {
    format!("{} {word}", article(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_only_for_one() {
        assert_eq!(count(1, "seed"), "1 seed");
        assert_eq!(count(0, "seed"), "0 seeds");
        assert_eq!(count(2, "fault"), "2 faults");
        assert_eq!(count(2, "entry"), "2 entries");
        assert_eq!(count(2, "delay"), "2 delays");
        assert_eq!(count(2, "process"), "2 processes");
        assert_eq!(count(1, "job"), "1 job");
    }

    #[test]
    fn articles_follow_the_sound() {
        for (word, want) in [
            ("rpc_client", "an rpc_client"),
            ("rpc_server", "an rpc_server"),
            ("registry", "a registry"),
            ("dispatcher", "a dispatcher"),
            ("worker", "a worker"),
            ("pool_client", "a pool_client"),
            ("object", "an object"),
            ("http_server", "an http_server"),
            ("tcp_link", "a tcp_link"),
            ("", "a "),
        ] {
            assert_eq!(with_article(word), want);
        }
    }
}
