//! IAM wildcards: `*` matches any run of characters (also none), `?` any one character.
//!
//! Three questions are asked of them: does a pattern match a name (action matching), can two
//! patterns match a common string (does a `Resource` fit an action's ARN format), and does one
//! pattern match everything the other does (does a `Deny` take an `Allow` away). Patterns are
//! compared byte by byte; ARNs and action names are ASCII in practice.

/// Whether `pattern` matches all of `text`. `pattern` and `text` must already be in the same
/// case when a case-insensitive match is wanted.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether some string matches both patterns (ASCII case-insensitively).
pub fn intersects(a: &[u8], b: &[u8]) -> bool {
    let (n, m) = (a.len(), b.len());
    let mut seen = vec![false; (n + 1) * (m + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let k = i * (m + 1) + j;
        if seen[k] {
            continue;
        }
        seen[k] = true;
        if a[i..].iter().all(|&c| c == b'*') && b[j..].iter().all(|&c| c == b'*') {
            return true;
        }
        let (ai, bj) = (a.get(i).copied(), b.get(j).copied());
        if ai == Some(b'*') {
            stack.push((i + 1, j));
        }
        if bj == Some(b'*') {
            stack.push((i, j + 1));
        }
        match (ai, bj) {
            (Some(b'*'), Some(b'*')) | (None, _) | (_, None) => {}
            (Some(b'*'), Some(_)) => stack.push((i, j + 1)),
            (Some(_), Some(b'*')) => stack.push((i + 1, j)),
            (Some(x), Some(y)) => {
                if x == b'?' || y == b'?' || x.eq_ignore_ascii_case(&y) {
                    stack.push((i + 1, j + 1));
                }
            }
        }
    }
    false
}

/// Whether every string that `specific` matches is also matched by `general` (case-sensitive).
/// The answer errs on the side of `false` for patterns too tangled to decide simply.
pub fn covers(general: &[u8], specific: &[u8]) -> bool {
    let (n, m) = (general.len(), specific.len());
    let mut seen = vec![false; (n + 1) * (m + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let k = i * (m + 1) + j;
        if seen[k] {
            continue;
        }
        seen[k] = true;
        if j == m {
            if general[i..].iter().all(|&c| c == b'*') {
                return true;
            }
            continue;
        }
        let Some(&g) = general.get(i) else { continue };
        let s = specific[j];
        match (g, s) {
            (b'*', _) => {
                stack.push((i + 1, j));
                stack.push((i, j + 1));
            }
            (_, b'*') => {}
            (b'?', _) => stack.push((i + 1, j + 1)),
            (_, b'?') => {}
            (x, y) if x == y => stack.push((i + 1, j + 1)),
            _ => {}
        }
    }
    false
}

/// Replaces every `${...}` placeholder (an ARN format's `${Region}`, a policy variable such as
/// `${aws:username}`, a template reference) with `*`.
pub fn placeholders_to_star(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push('*');
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(matches(b"iam:put*", b"iam:putrolepolicy"));
        assert!(matches(b"*", b""));
        assert!(matches(b"s3:get?bject", b"s3:getobject"));
        assert!(!matches(b"iam:put*", b"iam:passrole"));
        assert!(matches(b"a*b*c", b"axxbyyc"));
        assert!(!matches(b"a*b*c", b"axxbyy"));
    }

    #[test]
    fn intersection() {
        assert!(intersects(b"arn:aws:s3:::b/*", b"arn:*:s3:::*/*"));
        assert!(!intersects(b"arn:aws:s3:::bucket", b"arn:*:s3:::*/*"));
        assert!(intersects(b"arn:aws:s3:::bucket*", b"arn:*:s3:::*/*"));
        assert!(intersects(b"*", b"arn:*:iam::*:role/*"));
        assert!(!intersects(
            b"arn:aws:lambda:us-east-1:1:function:f",
            b"arn:*:iam::*:role/*"
        ));
    }

    #[test]
    fn covering() {
        assert!(covers(b"*", b"arn:aws:s3:::b/*"));
        assert!(covers(b"arn:aws:s3:::*", b"arn:aws:s3:::b/*"));
        assert!(!covers(b"arn:aws:s3:::b/x*", b"arn:aws:s3:::b/*"));
        assert!(!covers(b"arn:aws:s3:::b?", b"arn:aws:s3:::b*"));
        assert!(covers(b"arn:aws:s3:::b/*", b"arn:aws:s3:::b/secret"));
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            placeholders_to_star("arn:${Partition}:s3:::${BucketName}/${ObjectName}"),
            "arn:*:s3:::*/*"
        );
        assert_eq!(placeholders_to_star("x${unclosed"), "x${unclosed");
    }
}
