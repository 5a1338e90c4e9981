//! `cargo xtask tidy`: cheap source checks that clippy and rustc do not make (or make only
//! for code that compiles under the current cfg), and the stale-reference check of docs and
//! comments (`doc_refs`).

use std::path::{Path, PathBuf};

use crate::util::{self, cargo, Result};

/// The one crate allowed to contain `unsafe`; every other crate root forbids `unsafe_code`.
const UNSAFE_CRATE: &str = "crates/gocsp-channel";

/// Directories scanned for `.rs` files.
const SOURCE_DIRS: &[&str] = &["crates", "examples", "benches", "xtask"];

pub(crate) fn run(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    let root = util::root();
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        collect_rs(&root.join(dir), &mut files);
    }
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: unreadable: {e}", file.display()));
                continue;
            }
        };
        let rel = file.strip_prefix(&root).unwrap_or(file);
        check_unsafe_comments(rel, &text, &mut problems);
        check_placeholders(rel, &text, &mut problems);
    }
    check_forbid_unsafe(&root, &mut problems);
    crate::doc_refs::check(&root, &files, &mut problems);
    eprintln!("xtask tidy: scanned {} files", files.len());
    let fmt = util::run(&mut cargo(["fmt", "--check"]));
    if let Err(e) = fmt {
        problems.push(format!("{e} (run `cargo fmt`)"));
    }
    if problems.is_empty() {
        eprintln!("xtask tidy: ok");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        Err(format!("{} problem(s)", problems.len()))
    }
}

/// Every `.rs` file below `dir`, skipping build output and trybuild scratch directories.
fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_rs(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// `text` with comments removed and the insides of string and char literals blanked,
/// line structure kept, so that the keyword inside a message or `todo` in a doc comment does not
/// count. Handles nested block comments, escapes and raw strings (`r#"..."#`).
pub(crate) fn code_only(text: &str) -> Vec<String> {
    split_source(text).0.lines().map(str::to_string).collect()
}

/// The comment text of each line of `text` (one entry per line, empty where the line has no
/// comment), without the comment markers (`//`, `///`, `//!`, `/*`, `/**`, `/*!`, `*/`).
pub(crate) fn comments_only(text: &str) -> Vec<String> {
    split_source(text)
        .1
        .split('\n')
        .map(str::to_string)
        .collect()
}

/// Lexes `text` into its code (comments removed, literals blanked) and its comment text; a
/// newline anywhere in `text` is a newline in both, so the two keep its line structure.
fn split_source(text: &str) -> (String, String) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut comments = String::new();
    let mut i = 0;
    // A character inside a literal or a comment: blanked in the code, newlines kept in both.
    let keep_newline = |out: &mut String, comments: &mut String, c: char| {
        out.push(if c == '\n' { '\n' } else { ' ' });
        if c == '\n' {
            comments.push('\n');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                i += 2;
                if matches!(chars.get(i), Some('/' | '!')) {
                    i += 1;
                }
                while i < chars.len() && chars[i] != '\n' {
                    comments.push(chars[i]);
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                        // The doc marker of `/**` and `/*!`, but not the end of `/**/`.
                        if depth == 1
                            && matches!(chars.get(i), Some('*' | '!'))
                            && chars.get(i + 1) != Some(&'/')
                        {
                            i += 1;
                        }
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        keep_newline(&mut out, &mut comments, chars[i]);
                        if chars[i] != '\n' {
                            comments.push(chars[i]);
                        }
                        i += 1;
                    }
                }
            }
            'r' if (next == Some('"') || next == Some('#'))
                && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) =>
            {
                // Raw string: r"..." or r#..#"..."#..#
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(c);
                    i += 1;
                    continue;
                }
                out.push('"');
                i = j + 1;
                while i < chars.len() {
                    if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                        i += 1 + hashes;
                        break;
                    }
                    keep_newline(&mut out, &mut comments, chars[i]);
                    i += 1;
                }
                out.push('"');
            }
            '"' => {
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(' ');
                        i += 1;
                    }
                    if i < chars.len() {
                        keep_newline(&mut out, &mut comments, chars[i]);
                        i += 1;
                    }
                }
                out.push('"');
                i += 1;
            }
            '\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                if next == Some('\\') {
                    let mut j = i + 2;
                    while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
                        j += 1;
                    }
                    out.push_str("' '");
                    // Past the closing quote; a newline (a malformed literal) stays.
                    i = if chars.get(j) == Some(&'\'') {
                        j + 1
                    } else {
                        j
                    };
                } else if chars.get(i + 2) == Some(&'\'') {
                    out.push_str("' '");
                    i += 3;
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            _ => {
                out.push(c);
                if c == '\n' {
                    comments.push('\n');
                }
                i += 1;
            }
        }
    }
    (out, comments)
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("//") || t.starts_with("/*") || t.starts_with('*')
}

/// Does `code` open an unsafe block or implement an unsafe trait?
fn needs_safety_comment(code: &str) -> bool {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(pos) = code[from..].find("unsafe") {
        let at = from + pos;
        let end = at + "unsafe".len();
        from = end;
        if (at > 0 && is_ident(bytes[at - 1])) || (end < bytes.len() && is_ident(bytes[end])) {
            continue;
        }
        let rest = code[end..].trim_start();
        if rest.starts_with('{') || rest.starts_with("impl") {
            return true;
        }
    }
    false
}

/// `// SAFETY:` must be in the comment block directly above an `unsafe` block or impl
/// (attributes may sit between), or on the same line.
fn check_unsafe_comments(rel: &Path, text: &str, problems: &mut Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, code) in code_only(text).iter().enumerate() {
        if !needs_safety_comment(code) {
            continue;
        }
        let line = lines.get(i).copied().unwrap_or_default();
        if line.contains("SAFETY:") {
            continue;
        }
        let mut j = i;
        let mut found = false;
        while j > 0 {
            j -= 1;
            let above = lines[j].trim_start();
            if above.starts_with("#[") || above.starts_with("#![") {
                continue;
            }
            if !is_comment(above) {
                break;
            }
            if above.contains("SAFETY:") {
                found = true;
                break;
            }
        }
        if !found {
            problems.push(format!(
                "{}:{}: `unsafe` without a `// SAFETY:` comment directly above",
                rel.display(),
                i + 1
            ));
        }
    }
}

/// No placeholder macros in committed code (spelled in pieces so this file passes itself).
fn check_placeholders(rel: &Path, text: &str, problems: &mut Vec<String>) {
    let banned = [concat!("todo", "!"), concat!("unimplemented", "!")];
    for (i, code) in code_only(text).iter().enumerate() {
        for b in banned {
            if code.contains(b) {
                problems.push(format!(
                    "{}:{}: `{b}` left in the code",
                    rel.display(),
                    i + 1
                ));
            }
        }
    }
}

/// Every crate root except gocsp-channel's carries `#![forbid(unsafe_code)]`: the library
/// and binary roots of each workspace member, and the example programs.
fn check_forbid_unsafe(root: &Path, problems: &mut Vec<String>) {
    let mut packages: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(root.join("crates")) {
        packages.extend(dir.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    for p in ["examples", "benches", "xtask"] {
        packages.push(root.join(p));
    }
    packages.sort();
    let mut roots: Vec<PathBuf> = Vec::new();
    for pkg in &packages {
        if pkg.ends_with(UNSAFE_CRATE) || !pkg.join("Cargo.toml").is_file() {
            continue;
        }
        for f in ["src/lib.rs", "src/main.rs"] {
            if pkg.join(f).is_file() {
                roots.push(pkg.join(f));
            }
        }
        if let Ok(dir) = std::fs::read_dir(pkg.join("src/bin")) {
            roots.extend(
                dir.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("rs")),
            );
        }
    }
    if let Ok(examples) = crate::ci::example_names() {
        for (_, path) in examples {
            roots.push(root.join("examples").join(path));
        }
    }
    roots.sort();
    roots.dedup();
    for file in roots {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let has = text
            .lines()
            .map(|l| l.split_whitespace().collect::<String>())
            .any(|l| l.starts_with("#![forbid(") && l.contains("unsafe_code"));
        if !has {
            let rel = file.strip_prefix(root).unwrap_or(&file);
            problems.push(format!(
                "{}: crate root without `#![forbid(unsafe_code)]`",
                rel.display()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixtures spell the keyword `UNSAFE`, swapped in here, so that this file's own source
    /// holds no unsafe block or impl for a text search to find.
    fn fixture(src: &str) -> String {
        src.replace("UNSAFE", concat!("un", "safe"))
    }

    fn problems_in(src: &str) -> Vec<String> {
        let mut p = Vec::new();
        check_unsafe_comments(Path::new("f.rs"), src, &mut p);
        check_placeholders(Path::new("f.rs"), src, &mut p);
        p
    }

    #[test]
    fn unsafe_block_needs_safety_comment_above() {
        let bad = fixture("fn f() {\n    let x = UNSAFE { g() };\n}\n");
        assert_eq!(problems_in(&bad).len(), 1, "{:?}", problems_in(&bad));
        let good = fixture(
            "fn f() {\n    // SAFETY: g has no preconditions.\n    let x = UNSAFE { g() };\n}\n",
        );
        assert!(problems_in(&good).is_empty());
        let attr =
            fixture("// SAFETY: T is Send.\n#[allow(x)]\nUNSAFE impl<T: Send> Send for W<T> {}\n");
        assert!(problems_in(&attr).is_empty());
        let far = fixture("// SAFETY: stale\nlet y = 1;\nUNSAFE impl Send for W {}\n");
        assert_eq!(problems_in(&far).len(), 1);
    }

    #[test]
    fn literals_and_comments_do_not_count() {
        let src = fixture("let s = \"UNSAFE { x }\";\n// UNSAFE { y }\n/* UNSAFE {\n z } */\nlet c = '\"';\nlet r = r#\"UNSAFE {\"#;\nfn unsafe_fn() {}\n");
        assert!(problems_in(&src).is_empty(), "{:?}", problems_in(&src));
        // Built at run time so the placeholder never appears literally in the source.
        let multi = format!(
            "const U: &str = \"\n  {}() inside a string\n\";\n",
            concat!("todo", "!")
        );
        assert!(problems_in(&multi).is_empty());
    }

    #[test]
    fn placeholders_are_found() {
        let src = format!("fn f() {{ {}() }}\n", concat!("todo", "!"));
        assert_eq!(problems_in(&src).len(), 1);
    }
}
