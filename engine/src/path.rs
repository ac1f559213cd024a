//! ZooKeeper paths: validation with ZooKeeper's own rules and small helpers.
//!
//! The rules are those of ZooKeeper's `PathUtils.validatePath`: a path is absolute, has no
//! trailing `/` (except the root), no empty, `.` or `..` segment, no NUL, and none of the
//! characters ZooKeeper rejects (`U+0001..=U+001F`, `U+007F..=U+009F`, `U+D800..=U+F8FF`,
//! `U+FFF0..=U+FFFF`). Java strings are UTF-16, so any character outside the Basic Multilingual
//! Plane reaches ZooKeeper as a surrogate pair and is rejected too.

use crate::Error;

/// Checks `path` against ZooKeeper's rules.
///
/// ```
/// assert!(docent::path::validate("/a/b").is_ok());
/// assert!(docent::path::validate("/a/").is_err());
/// assert!(docent::path::validate("a").is_err());
/// ```
pub fn validate(path: &str) -> Result<(), Error> {
    let fail = |reason| {
        Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return fail("path length must be > 0");
    }
    if !path.starts_with('/') {
        return fail("path must start with / character");
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return fail("path must not end with / character");
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return fail("empty node name specified"),
            "." | ".." => return fail("relative paths not allowed"),
            _ => {}
        }
        for c in segment.chars() {
            if c == '\0' {
                return fail("null character not allowed");
            }
            if is_rejected_char(c) {
                return fail("invalid character");
            }
        }
    }
    Ok(())
}

/// Checks the path of a create: for sequential modes ZooKeeper validates the path with the
/// sequence suffix appended, so `/queue/` is a valid sequential create path.
pub fn validate_create(path: &str, sequential: bool) -> Result<(), Error> {
    if sequential {
        validate(&format!("{path}1")).map_err(|e| match e {
            Error::InvalidPath { reason, .. } => Error::InvalidPath {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })
    } else {
        validate(path)
    }
}

fn is_rejected_char(c: char) -> bool {
    let c = c as u32;
    (0x01..=0x1f).contains(&c)
        || (0x7f..=0x9f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        || (0xfff0..=0xffff).contains(&c)
        || c > 0xffff
}

/// `parent` + `/` + `child`, handling the root (`join("/", "a") == "/a"`).
pub fn join(parent: &str, child: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The parent of `path` (`None` for the root).
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// The last segment of `path` (empty for the root).
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Every proper ancestor of `path` from the top down, without the root:
/// `/a/b/c` → `/a`, `/a/b`.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .map(move |i| &path[..i])
}

/// The server-assigned sequence number at the end of a sequential node's name: the last ten
/// characters, `%010d` of the parent's cversion (negative once that wraps past `i32::MAX`).
pub fn sequence(name: &str) -> Option<i32> {
    let start = name.len().checked_sub(10)?;
    name.get(start..)?.parse().ok()
}

/// `namespace` + `path` (`path` is absolute; an empty namespace is no namespace).
pub fn prefix(namespace: &str, path: &str) -> String {
    if namespace.is_empty() || namespace == "/" {
        path.to_owned()
    } else if path == "/" {
        namespace.to_owned()
    } else {
        format!("{namespace}{path}")
    }
}

/// `path` with `namespace` removed (the inverse of [`prefix`]).
pub fn strip(namespace: &str, path: &str) -> String {
    if namespace.is_empty() || namespace == "/" {
        return path.to_owned();
    }
    match path.strip_prefix(namespace) {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A literal transcription of ZooKeeper's character loop, as the reference.
    #[allow(clippy::if_same_then_else, clippy::needless_range_loop)] // kept as ZooKeeper writes it
    fn reference(path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        if chars.is_empty() || chars[0] != '/' {
            return false;
        }
        if chars.len() == 1 {
            return true;
        }
        if chars[chars.len() - 1] == '/' {
            return false;
        }
        let mut last = '/';
        for i in 1..chars.len() {
            let c = chars[i];
            let next_is_end = i + 1 == chars.len() || chars[i + 1] == '/';
            if c == '\0' {
                return false;
            } else if c == '/' && last == '/' {
                return false;
            } else if c == '.' && last == '.' && chars[i - 2] == '/' && next_is_end {
                return false;
            } else if c == '.' && last == '/' && next_is_end {
                return false;
            } else if is_rejected_char(c) {
                return false;
            }
            last = c;
        }
        true
    }

    #[test]
    fn rules() {
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/...",
            "/a/.b",
            "/é",
            "/zookeeper",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "/a/", "//", "/a//b", "/.", "/..", "/a/./b", "/a/..", "/a\0",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "/\u{1}",
            "/\u{7f}",
            "/\u{9f}",
            "/\u{e000}",
            "/\u{fff0}",
            "/😀",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert!(validate_create("/q/", true).is_ok());
        assert!(validate_create("/q/", false).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(name("/a/b"), "b");
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), vec!["/a", "/a/b"]);
        assert_eq!(sequence("lock-0000000007"), Some(7));
        assert_eq!(sequence("lock--000000001"), Some(-1));
        assert_eq!(sequence("short"), None);
        assert_eq!(prefix("/ns", "/a"), "/ns/a");
        assert_eq!(prefix("/ns", "/"), "/ns");
        assert_eq!(strip("/ns", "/ns/a"), "/a");
        assert_eq!(strip("/ns", "/ns"), "/");
    }

    proptest! {
        #[test]
        fn agrees_with_reference(s in "(/|[a.]|\\.\\.|\u{0}|\u{1f}|\u{85}|\u{e123}|\u{fff5}|😀|é){0,8}") {
            prop_assert_eq!(validate(&s).is_ok(), reference(&s), "{:?}", s);
        }

        #[test]
        fn agrees_with_reference_any(s in any::<String>()) {
            prop_assert_eq!(validate(&s).is_ok(), reference(&s));
        }
    }
}
