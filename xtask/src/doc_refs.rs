//! Stale references, a `cargo xtask tidy` check: a comment or a document that names a file or
//! an item which is not in the repository.
//!
//! What is read: the comments (`//`, `///`, `//!`, block comments) of every `.rs` file tidy
//! scans, and the markdown files at the root, in docs, benches and examples, and in each
//! crate's directory. Fenced code blocks are skipped. The unit is the paragraph (a run of
//! comment lines, or of markdown lines between blank lines), so a code span may wrap a line.
//!
//! **Files.** A code span or a link target that looks like a path ending in one of
//! [`EXTENSIONS`], or a bare word ending in `.md` (a document cited in prose), must name a
//! file; one ending in `/` must name a directory. A reference is tried against the repository
//! root, the directory of the file that holds it, that file's crate and the crate's `src/`,
//! and last as a path suffix of any file in the repository (so a bare file name matches a file
//! of that name anywhere). In a markdown section whose heading (below the title) is a crate's
//! directory name, as in ARCHITECTURE.md, a bare file name must be in that crate. Not checked:
//!
//! - URLs, and anything under [`GENERATED`] (outputs that exist only after a run);
//! - another project's files, recognised by the first path segment (a host name such as
//!   `golang.org/x/sync/errgroup_test.go`, or an unpacked crate such as
//!   `kanal-0.1.1/src/backoff.rs`) or by the phrase around the reference: a URL or a
//!   possessive of one of [`EXTERNAL_PROJECTS`] earlier in the reference's phrase marks it as
//!   theirs (Go's `src/runtime/chan.go`, tokio's `util/linked_list.rs`); a phrase ends at a
//!   sentence end, a colon, a comma, a closing parenthesis or a dash, but a comma between two
//!   code spans continues it (Go's `a.go`, `b.go`);
//! - a bare `x.go`, while the workspace has a method `go`: `wg.go` is that method, called.
//!
//! **Items.** A path with `::` in a code span, a link target or an intra-doc link is checked
//! when its first segment is the workspace's: `crate`, `self`, `super`, `Self`, `gocsp` or a
//! `gocsp_*` crate, or a type or module the workspace defines. Every later segment
//! must then be defined somewhere in the workspace (a function, constant, static, type,
//! variant, field, associated type, macro, module or re-exported name), or be one of
//! [`STD_MEMBERS`] (what derives and blanket impls supply). A path whose first segment is not
//! the workspace's (std, tokio, Go's `sync.WaitGroup`) is skipped, and so is one in an external
//! project's phrase. Definitions come from a token scan of the code of the same `.rs` files,
//! so the check is a heuristic: it knows that a name exists, not where.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::tidy::{code_only, comments_only};

/// Extensions that make a path-like code span a file reference.
const EXTENSIONS: &[&str] = &["rs", "md", "go", "toml", "svg", "sh", "json"];

/// Outputs written by the tools, which exist only after a run: never checked. An entry ending
/// in `/` covers everything below it; the others are the bench report's names, as the docs
/// shorten `target/bench/report.svg`.
const GENERATED: &[&str] = &["target/", "report.md", "report.svg"];

/// Projects whose possessive ("Go's", "tokio's") makes the references after it, up to the end
/// of the phrase, theirs rather than ours. Compared case-insensitively.
const EXTERNAL_PROJECTS: &[&str] = &[
    "go",
    "golang",
    "tokio",
    "flume",
    "crossbeam",
    "kanal",
    "async-channel",
    "futures",
    "loom",
    "std",
    "rust",
    "rustc",
    "cargo",
    "miri",
    "trybuild",
    "criterion",
    "tracing",
    "syn",
];

/// Members that derives and std's blanket impls give a type without the source spelling them.
const STD_MEMBERS: &[&str] = &[
    "clone",
    "clone_from",
    "default",
    "fmt",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "hash",
    "from",
    "into",
    "try_from",
    "try_into",
    "to_string",
    "to_owned",
    "borrow",
    "borrow_mut",
    "type_id",
];

/// Rust keywords that can follow a definition keyword (`const fn`, `static mut`).
const KEYWORDS: &[&str] = &[
    "fn", "mut", "unsafe", "async", "extern", "const", "static", "type", "struct", "enum", "trait",
    "union", "mod", "impl", "for", "where", "dyn", "pub", "crate", "self", "super",
];

/// Runs the check over the repository at `root`; `sources` are the `.rs` files tidy scans.
pub(crate) fn check(root: &Path, sources: &[PathBuf], problems: &mut Vec<String>) {
    let mut index = Index::default();
    index.walk(root, "");
    let mut texts = Vec::new();
    for file in sources {
        if let Ok(text) = std::fs::read_to_string(file) {
            index.add_definitions(&text);
            texts.push((relative(root, file), text));
        }
    }
    for (rel, text) in &texts {
        index.check_rust(rel, text, problems);
    }
    for rel in markdown_files(&index) {
        if let Ok(text) = std::fs::read_to_string(root.join(&rel)) {
            index.check_markdown(&rel, &text, problems);
        }
    }
}

fn relative(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.to_string_lossy().replace('\\', "/")
}

/// The documents read: `*.md` at the root, in docs, benches and examples, and in each crate's
/// directory.
fn markdown_files(index: &Index) -> Vec<String> {
    let mut dirs: Vec<String> = vec![String::new(), "docs".into()];
    dirs.extend(index.crates.iter().filter(|c| !c.is_empty()).cloned());
    let parent_ok = |f: &str| dirs.iter().any(|d| parent(f) == d);
    index
        .files
        .iter()
        .filter(|f| f.ends_with(".md") && parent_ok(f))
        .cloned()
        .collect()
}

/// `base/reference` with `.` and `..` resolved; `None` if it leaves the repository.
fn normalize(base: &str, reference: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The parent directory of a relative path (`""` for the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// What the repository holds: its files and directories (relative, `/`-separated), its crates,
/// and the names its Rust code defines.
#[derive(Default)]
pub(crate) struct Index {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
    /// Directories holding a `Cargo.toml` (`""` is the root), longest first.
    crates: Vec<String>,
    /// Names a path may start with: types and modules.
    types: HashSet<String>,
    /// Names a later path segment may be: every definition, field, variant and `use`d name.
    members: HashSet<String>,
}

impl Index {
    fn walk(&mut self, root: &Path, rel: &str) {
        let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if name != "target" && name != ".git" {
                    self.walk(root, &path);
                }
            } else {
                self.add_file(&path);
            }
        }
    }

    /// Records a file (and the directories above it).
    fn add_file(&mut self, rel: &str) {
        let mut dir = parent(rel);
        while !dir.is_empty() && self.dirs.insert(dir.to_string()) {
            dir = parent(dir);
        }
        if rel == "Cargo.toml" || rel.ends_with("/Cargo.toml") {
            self.crates.push(parent(rel).to_string());
            self.crates.sort_by_key(|c| std::cmp::Reverse(c.len()));
        }
        self.files.insert(rel.to_string());
    }

    /// Records the names the Rust source `text` defines.
    fn add_definitions(&mut self, text: &str) {
        let mut in_use = false;
        for line in code_only(text) {
            let tokens = tokenize(&line);
            let ident = |k: usize| {
                tokens
                    .get(k)
                    .filter(|t| is_ident(t) && !KEYWORDS.contains(&t.as_str()))
            };
            for (k, t) in tokens.iter().enumerate() {
                match t.as_str() {
                    "struct" | "enum" | "trait" | "type" | "union" | "mod" => {
                        if let Some(name) = ident(k + 1) {
                            self.types.insert(name.clone());
                            self.members.insert(name.clone());
                        }
                    }
                    // Not a path's first segment: `f::<T>` is a turbofish, and function names
                    // (`thread`, `sync`) would claim std's modules.
                    "fn" => {
                        if let Some(name) = ident(k + 1) {
                            self.members.insert(name.clone());
                        }
                    }
                    "const" | "static" => {
                        let at = if ident(k + 1).is_none()
                            && tokens.get(k + 1).is_some_and(|t| t == "mut")
                        {
                            k + 2
                        } else {
                            k + 1
                        };
                        if let Some(name) = ident(at) {
                            self.members.insert(name.clone());
                        }
                    }
                    "macro_rules" if tokens.get(k + 1).is_some_and(|t| t == "!") => {
                        if let Some(name) = ident(k + 2) {
                            self.members.insert(name.clone());
                        }
                    }
                    "use" if k == 0 || tokens[..k].iter().all(|t| is_visibility_token(t)) => {
                        in_use = true;
                    }
                    _ => {}
                }
                if in_use {
                    if is_ident(t) {
                        self.members.insert(t.clone());
                    }
                    if t == ";" {
                        in_use = false;
                    }
                }
            }
            // A field (`pub name: T,`) or a variant (`Name`, `Name(..)`, `Name { .. }`).
            let mut k = 0;
            while tokens.get(k).is_some_and(|t| is_visibility_token(t)) {
                k += 1;
            }
            let Some(first) = tokens.get(k).filter(|t| is_ident(t)) else {
                continue;
            };
            let after = tokens.get(k + 1).map(String::as_str);
            let field = after == Some(":") && tokens.get(k + 2).is_none_or(|t| t != ":");
            let variant = first.starts_with(|c: char| c.is_ascii_uppercase())
                && matches!(after, None | Some("," | "(" | "{" | "="));
            if field || variant {
                self.members.insert(first.clone());
            }
        }
    }

    /// The crate directory holding `rel`.
    fn crate_of(&self, rel: &str) -> &str {
        self.crates
            .iter()
            .find(|c| c.is_empty() || rel.starts_with(&format!("{c}/")))
            .map_or("", String::as_str)
    }

    /// Does `reference`, written in `from`, name an existing file (or directory, if it ends in
    /// `/`)? `scope` is the crate a markdown section is about.
    fn resolves(&self, from: &str, scope: Option<&str>, reference: &str) -> bool {
        let is_dir = reference.ends_with('/');
        let r = reference.trim_end_matches('/').trim_start_matches("./");
        let r = r.trim_start_matches('/');
        let set = if is_dir { &self.dirs } else { &self.files };
        let krate = scope.unwrap_or_else(|| self.crate_of(from));
        let src = if krate.is_empty() {
            "src".to_string()
        } else {
            format!("{krate}/src")
        };
        for base in ["", parent(from), krate, &src] {
            if let Some(p) = normalize(base, r) {
                if set.contains(&p) {
                    return true;
                }
            }
        }
        if r.split('/').any(|s| s == ".." || s == ".") {
            return false;
        }
        let within = match scope {
            Some(s) if !r.contains('/') => format!("{s}/"),
            _ => String::new(),
        };
        let suffix = format!("/{r}");
        set.iter()
            .any(|p| p.starts_with(&within) && (*p == r || p.ends_with(&suffix)))
    }

    /// Is the item path `segments` (first segment first) defined? Returns the offending prefix.
    fn missing_item(&self, segments: &[String]) -> Option<String> {
        let first = segments.first()?.as_str();
        let workspace_first = matches!(first, "crate" | "self" | "super" | "Self" | "gocsp")
            || first.starts_with("gocsp_")
            || self.types.contains(first);
        if segments.len() < 2 || !workspace_first {
            return None;
        }
        for (k, seg) in segments.iter().enumerate().skip(1) {
            if matches!(seg.as_str(), "self" | "super" | "crate") {
                continue;
            }
            if !self.members.contains(seg) && !STD_MEMBERS.contains(&seg.as_str()) {
                return Some(segments[..=k].join("::"));
            }
        }
        None
    }

    /// Checks the comments of the Rust source `text` (at `rel`).
    pub(crate) fn check_rust(&self, rel: &str, text: &str, problems: &mut Vec<String>) {
        let mut para: Vec<(usize, String)> = Vec::new();
        let mut fence = false;
        for (i, comment) in comments_only(text).iter().enumerate() {
            let mut t = comment.trim();
            if t == "*" || t.starts_with("* ") {
                t = t[1..].trim_start();
            }
            if t.starts_with("```") {
                fence = !fence;
                self.check_paragraph(rel, None, &para, problems);
                para.clear();
                continue;
            }
            if fence {
                continue;
            }
            if t.is_empty() {
                self.check_paragraph(rel, None, &para, problems);
                para.clear();
            } else {
                para.push((i + 1, t.to_string()));
            }
        }
        self.check_paragraph(rel, None, &para, problems);
    }

    /// Checks the markdown document `text` (at `rel`).
    pub(crate) fn check_markdown(&self, rel: &str, text: &str, problems: &mut Vec<String>) {
        let mut para: Vec<(usize, String)> = Vec::new();
        let mut fence = false;
        // The crate the current section is about, and its heading level.
        let mut scope: Option<(usize, String)> = None;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            let s = scope.as_ref().map(|(_, c)| c.as_str());
            if t.starts_with("```") || t.starts_with("~~~") {
                fence = !fence;
                self.check_paragraph(rel, s, &para, problems);
                para.clear();
                continue;
            }
            if fence {
                continue;
            }
            if t.is_empty() || t.starts_with('#') {
                self.check_paragraph(rel, s, &para, problems);
                para.clear();
            }
            if let Some(title) = t.strip_prefix('#') {
                let level = 1 + title.chars().take_while(|&c| c == '#').count();
                let title = title.trim_start_matches('#').trim().trim_matches('`');
                if scope.as_ref().is_some_and(|(l, _)| level <= *l) {
                    scope = None;
                }
                let krate = self
                    .crates
                    .iter()
                    .find(|c| !c.is_empty() && c.rsplit('/').next() == Some(title));
                // A document's title (`# gocsp`) names the project, not a section on a crate.
                if let Some(krate) = krate.filter(|_| level > 1) {
                    scope = Some((level, krate.clone()));
                }
                let s = scope.as_ref().map(|(_, c)| c.as_str());
                self.check_paragraph(rel, s, &[(i + 1, title.to_string())], problems);
                continue;
            }
            if !t.is_empty() {
                para.push((i + 1, t.to_string()));
            }
        }
        let s = scope.as_ref().map(|(_, c)| c.as_str());
        self.check_paragraph(rel, s, &para, problems);
    }

    /// Checks one paragraph: its lines with their (1-based) numbers.
    fn check_paragraph(
        &self,
        rel: &str,
        scope: Option<&str>,
        lines: &[(usize, String)],
        problems: &mut Vec<String>,
    ) {
        if lines.is_empty() {
            return;
        }
        let mut text = String::new();
        let mut starts = Vec::new();
        for (no, line) in lines {
            starts.push((text.len(), *no));
            text.push_str(line);
            text.push('\n');
        }
        let line_at = |offset: usize| {
            starts
                .iter()
                .rev()
                .find(|(s, _)| *s <= offset)
                .map_or(0, |(_, no)| *no)
        };
        let para = Paragraph::new(&text);
        let mut found: Vec<(usize, String)> = Vec::new();
        for (at, reference) in para.references() {
            if para.external(at) {
                continue;
            }
            let missing = match reference {
                Reference::File(f) => (!self.file_ok(rel, scope, &f)).then_some(f),
                Reference::Item(segments) => self.missing_item(&segments),
            };
            if let Some(name) = missing {
                let entry = (line_at(at), name);
                if !found.contains(&entry) {
                    found.push(entry);
                }
            }
        }
        for (line, name) in found {
            problems.push(format!(
                "{rel}:{line}: names `{name}`, which does not exist"
            ));
        }
    }

    fn file_ok(&self, rel: &str, scope: Option<&str>, reference: &str) -> bool {
        let generated =
            |g: &&str| reference == *g || (g.ends_with('/') && reference.starts_with(g));
        if GENERATED.iter().any(generated) {
            return true;
        }
        let first = reference.split('/').next().unwrap_or_default();
        if reference.contains('/') && (is_host(first) || is_versioned_crate(first)) {
            return true;
        }
        if !reference.contains('/') && reference.ends_with(".go") && self.members.contains("go") {
            return true;
        }
        self.resolves(rel, scope, reference)
    }
}

/// A reference found in a paragraph.
#[derive(Debug)]
enum Reference {
    File(String),
    Item(Vec<String>),
}

/// A paragraph's text, with its code spans and URLs located.
struct Paragraph<'a> {
    text: &'a str,
    /// `(start, end)` of each code span's content.
    spans: Vec<(usize, usize)>,
    /// The text outside code spans and URLs (those bytes are blanked to spaces), at the same
    /// offsets as in `text`.
    prose: String,
    /// `(start, end)` of each URL.
    urls: Vec<(usize, usize)>,
}

impl<'a> Paragraph<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut spans = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'`' {
                i += 1;
                continue;
            }
            let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            let open = i + run;
            let mut j = open;
            let mut close = None;
            while j < bytes.len() {
                if bytes[j] == b'`' {
                    let r = bytes[j..].iter().take_while(|&&b| b == b'`').count();
                    if r == run {
                        close = Some(j);
                        break;
                    }
                    j += r;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(j) => {
                    spans.push((open, j));
                    i = j + run;
                }
                None => i = open,
            }
        }
        let mut prose = bytes.to_vec();
        for &(s, e) in &spans {
            // The backticks too, so that they do not join the words around them.
            let from = s - bytes[..s].iter().rev().take_while(|&&b| b == b'`').count();
            let to = e + bytes[e..].iter().take_while(|&&b| b == b'`').count();
            prose[from..to].fill(b' ');
        }
        let mut urls = Vec::new();
        let mut from = 0;
        while let Some(pos) = find(&prose[from..], b"://") {
            let at = from + pos;
            let start = at
                - prose[..at]
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_alphanumeric() || b"+.-".contains(b))
                    .count();
            let end = at
                + prose[at..]
                    .iter()
                    .take_while(|b| !b.is_ascii_whitespace() && !b"<>)\"'".contains(b))
                    .count();
            urls.push((start, end));
            prose[start..end].fill(b' ');
            from = end.max(at + 3);
        }
        let prose = String::from_utf8(prose).unwrap_or_default();
        Paragraph {
            text,
            spans,
            prose,
            urls,
        }
    }

    /// Every reference, with its offset.
    fn references(&self) -> Vec<(usize, Reference)> {
        let mut out = Vec::new();
        for &(s, e) in &self.spans {
            self.reference_in(s, &self.text[s..e], &mut out);
        }
        let prose = self.prose.as_bytes();
        // Link targets: `](target)`.
        let mut from = 0;
        while let Some(pos) = find(&prose[from..], b"](") {
            let open = from + pos + 2;
            let len = prose[open..].iter().take_while(|&&b| b != b')').count();
            let target = self.prose[open..open + len].split_whitespace().next();
            if let Some(target) = target {
                let target = target.trim_start_matches('<').trim_end_matches('>');
                let target = target.split('#').next().unwrap_or_default();
                self.reference_in(open, target, &mut out);
            }
            from = open;
        }
        // Link definitions `[label]: target` and intra-doc links `[Path::to]`.
        from = 0;
        while let Some(pos) = prose[from..].iter().position(|&b| b == b'[') {
            let open = from + pos + 1;
            let len = prose[open..]
                .iter()
                .take_while(|&&b| b != b']' && b != b'[' && b != b'\n')
                .count();
            let close = open + len;
            from = open;
            if prose.get(close) != Some(&b']') {
                continue;
            }
            let inner = &self.prose[open..close];
            if inner.contains("::") && !inner.contains(char::is_whitespace) {
                self.reference_in(open, inner, &mut out);
            }
            if prose.get(close + 1) == Some(&b':') {
                let rest = &self.prose[close + 2..];
                if let Some(target) = rest
                    .lines()
                    .next()
                    .and_then(|l| l.split_whitespace().next())
                {
                    let target = target.split('#').next().unwrap_or_default();
                    let at = close + 2 + rest.find(target).unwrap_or(0);
                    self.reference_in(at, target, &mut out);
                }
            }
        }
        // Documents cited in prose: a bare word ending in `.md`.
        from = 0;
        while let Some(pos) = find(&prose[from..], b".md") {
            let at = from + pos;
            from = at + 3;
            if prose
                .get(at + 3)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                continue;
            }
            let start = at
                - prose[..at]
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_alphanumeric() || b"_./-".contains(b))
                    .count();
            let word = &self.prose[start..at + 3];
            let stem_ok = word[..word.len() - 3]
                .rsplit('/')
                .next()
                .is_some_and(|s| s.contains(|c: char| c.is_ascii_alphanumeric()));
            let in_link = start >= 2 && &prose[start - 2..start] == b"](";
            if stem_ok && !in_link {
                out.push((start, Reference::File(word.to_string())));
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out
    }

    /// The references in `s` (a code span, link target or intra-doc link at offset `at`).
    fn reference_in(&self, at: usize, s: &str, out: &mut Vec<(usize, Reference)>) {
        if s.contains("://") || s.starts_with("mailto:") {
            return;
        }
        if let Some(f) = file_reference(s) {
            out.push((at, Reference::File(f.to_string())));
            return;
        }
        for path in item_paths(s) {
            out.push((at, Reference::Item(path)));
        }
    }

    /// Is the reference at `at` another project's, by the phrase it is in: a URL or a
    /// possessive of an external project since the phrase began?
    fn external(&self, at: usize) -> bool {
        let start = self.phrase_start(at);
        if self.urls.iter().any(|&(s, e)| s < at && e > start) {
            return true;
        }
        let words: Vec<&str> = self.prose[start..at].split_whitespace().collect();
        words.iter().enumerate().any(|(k, w)| {
            let w = w.trim_start_matches(|c: char| !c.is_alphanumeric());
            let Some(stem) = w.strip_suffix("'s").or_else(|| w.strip_suffix("’s")) else {
                return false;
            };
            let project = |s: &str| EXTERNAL_PROJECTS.contains(&s.to_lowercase().as_str());
            // "Go 1.25's": a version after the project's name.
            let version = !stem.is_empty() && stem.chars().all(|c| c.is_ascii_digit() || c == '.');
            project(stem)
                || (version
                    && k > 0
                    && project(words[k - 1].trim_start_matches(|c: char| !c.is_alphanumeric())))
        })
    }

    /// Where the phrase holding offset `at` begins: after the last sentence end (`.`, `;`,
    /// `!`, `?` or `:` before whitespace, not in "e.g."), `,`, `)` or dash, but not after a
    /// comma that only separates two code spans (`a`, `b`).
    fn phrase_start(&self, at: usize) -> usize {
        let prose = self.prose.as_bytes();
        let text = self.text.as_bytes();
        for i in (0..at.min(prose.len())).rev() {
            let next_is_space = prose.get(i + 1).is_none_or(u8::is_ascii_whitespace);
            let ends = match prose[i] {
                b'.' | b';' | b'!' | b'?' | b':' => {
                    next_is_space && !abbreviation(&self.prose[..i])
                }
                b')' => true,
                // The last byte of an em dash.
                0x94 => prose[..=i].ends_with("—".as_bytes()),
                b',' => {
                    let after_span = i > 0 && text[i - 1] == b'`';
                    let next = text[i + 1..].iter().find(|b| !b.is_ascii_whitespace());
                    !(after_span && next == Some(&b'`'))
                }
                _ => false,
            };
            if ends {
                return i + 1;
            }
        }
        0
    }
}

/// Does `before` (the text up to a full stop) end in an abbreviation ("e.g.")?
fn abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default();
    matches!(word, "e.g" | "i.e" | "cf" | "vs" | "etc")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `s`, if it is a file reference: a path (`[A-Za-z0-9_.-/]`, optionally with a `:line`
/// suffix) ending in a name with one of [`EXTENSIONS`], or in `/` for a directory.
fn file_reference(s: &str) -> Option<&str> {
    let mut s = s.trim();
    // A line (`:120`) or a line and column (`:120:5`) after the path.
    while let Some((head, tail)) = s.rsplit_once(':') {
        if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        s = head;
    }
    let path_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b));
    if s.is_empty() || !path_chars || s.contains("//") {
        return None;
    }
    if s.ends_with('/') {
        return s.contains(|c: char| c.is_ascii_alphabetic()).then_some(s);
    }
    let name = s.rsplit('/').next()?;
    let (stem, ext) = name.rsplit_once('.')?;
    let stem_ok = stem.contains(|c: char| c.is_ascii_alphanumeric());
    (stem_ok && EXTENSIONS.contains(&ext)).then_some(s)
}

/// A host name as a first path segment (`golang.org`, `github.com`).
fn is_host(segment: &str) -> bool {
    let Some((name, tld)) = segment.rsplit_once('.') else {
        return false;
    };
    !name.is_empty()
        && (2..=6).contains(&tld.len())
        && tld.bytes().all(|b| b.is_ascii_lowercase())
        && !EXTENSIONS.contains(&tld)
}

/// An unpacked crate's directory (`kanal-0.1.1`).
fn is_versioned_crate(segment: &str) -> bool {
    segment.rsplit_once('-').is_some_and(|(name, version)| {
        !name.is_empty()
            && version.starts_with(|c: char| c.is_ascii_digit())
            && version.contains('.')
            && version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.')
    })
}

fn is_ident(t: &str) -> bool {
    t.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

fn is_visibility_token(t: &str) -> bool {
    matches!(t, "pub" | "(" | ")" | "crate" | "super" | "in" | "self")
}

/// Identifiers and single punctuation characters, whitespace dropped.
fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !(d.is_alphanumeric() || d == '_') {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            out.push(line[i..end].to_string());
        } else if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    out
}

/// The `::` paths in `s` (a code span's text), as segment lists; generics and turbofish are
/// skipped, and a `{a, b}` group gives one path per member.
fn item_paths(s: &str) -> Vec<Vec<String>> {
    let c: Vec<char> = s.chars().collect();
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    let ident_at = |i: usize| {
        let mut j = i;
        if c.get(j).is_some_and(|&ch| ch.is_alphabetic() || ch == '_') {
            while c.get(j).is_some_and(|&ch| ident_char(ch)) {
                j += 1;
            }
        }
        j
    };
    // The end of a balanced `<...>` starting at `i`, if there is one.
    let generics_end = |i: usize| {
        let mut depth = 0;
        for (j, &ch) in c.iter().enumerate().skip(i) {
            match ch {
                '<' => depth += 1,
                '>' if j > 0 && c[j - 1] == '-' => {}
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j + 1);
                    }
                }
                ';' | '{' | '}' => return None,
                _ => {}
            }
        }
        None
    };
    let colons = |i: usize| c.get(i) == Some(&':') && c.get(i + 1) == Some(&':');
    let mut paths = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let prev = i.checked_sub(1).map(|p| c[p]);
        let absolute = colons(i)
            && !prev.is_some_and(|p| ident_char(p) || p == '>' || p == ':')
            && ident_at(i + 2) > i + 2;
        let start = if absolute { i + 2 } else { i };
        let end = ident_at(start);
        let blocked = !absolute
            && (prev.is_some_and(|p| ident_char(p) || matches!(p, '.' | '\'' | '$' | '#'))
                || (i >= 2 && colons(i - 2)));
        if end == start || blocked {
            i += 1;
            continue;
        }
        let mut segments = vec![c[start..end].iter().collect::<String>()];
        let mut j = end;
        loop {
            if c.get(j) == Some(&'<') {
                match generics_end(j) {
                    Some(k) if colons(k) => j = k,
                    _ => break,
                }
            }
            if !colons(j) {
                break;
            }
            let k = j + 2;
            if c.get(k) == Some(&'<') {
                match generics_end(k) {
                    Some(e) => {
                        j = e;
                        continue;
                    }
                    None => break,
                }
            }
            if c.get(k) == Some(&'{') {
                let close = c[k..].iter().position(|&ch| ch == '}').map(|p| k + p);
                let inner: String = c[k + 1..close.unwrap_or(c.len())].iter().collect();
                for member in inner.split(',') {
                    let name: String = member
                        .trim()
                        .chars()
                        .take_while(|&ch| ident_char(ch))
                        .collect();
                    if !name.is_empty() && name != "self" {
                        let mut p = segments.clone();
                        p.push(name);
                        paths.push(p);
                    }
                }
                j = close.map_or(c.len(), |e| e + 1);
                segments.clear();
                break;
            }
            let e = ident_at(k);
            if e == k {
                break;
            }
            segments.push(c[k..e].iter().collect());
            j = e;
        }
        if segments.len() > 1 {
            paths.push(segments);
        }
        i = j.max(i + 1);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        let mut ix = Index::default();
        for f in [
            "Cargo.toml",
            "README.md",
            "crates/gocsp-channel/Cargo.toml",
            "crates/gocsp-channel/src/lib.rs",
            "crates/gocsp-channel/src/lock.rs",
            "crates/gocsp-channel/src/blocking.rs",
            "crates/gocsp-sync/Cargo.toml",
            "crates/gocsp-sync/src/lib.rs",
            "crates/gocsp-sync/src/cond.rs",
            "benches/Cargo.toml",
            "benches/go/main.go",
            "benches/src/bin/instr.rs",
        ] {
            ix.add_file(f);
        }
        ix.add_definitions(
            "pub struct Chan<T> {\n    state: T,\n}\nimpl<T> Chan<T> {\n    pub(crate) fn cap(&self) -> usize { 0 }\n}\n\
             pub mod hook {\n    pub fn progressed() {}\n}\npub enum Cap {\n    Zero,\n    Bounded(usize),\n}\n\
             pub use tokio::sync::{Mutex, RwLock as Rw};\nimpl WaitGroup { pub fn go(&self) {} }\n",
        );
        ix
    }

    fn rust(src: &str) -> Vec<String> {
        let mut p = Vec::new();
        index().check_rust("crates/gocsp-sync/src/lib.rs", src, &mut p);
        p
    }

    fn markdown(src: &str) -> Vec<String> {
        let mut p = Vec::new();
        index().check_markdown("ARCHITECTURE.md", src, &mut p);
        p
    }

    #[test]
    fn stale_file_is_caught() {
        let p = rust("fn f() {}\n/// Moved to `gocsp-sync/src/blocking.rs`.\nfn g() {}\n");
        assert_eq!(
            p,
            ["crates/gocsp-sync/src/lib.rs:2: names `gocsp-sync/src/blocking.rs`, which does not exist"]
        );
        assert_eq!(rust("// see `benches/go/`, `benches/gone/`\n").len(), 1);
    }

    #[test]
    fn existing_files_resolve() {
        let src = "//! `lock.rs`, `crates/gocsp-channel/src/lock.rs`, `cond.rs`, `src/lib.rs`,\n\
                   //! `gocsp-channel/src/blocking.rs`, `benches/src/bin/instr.rs`, `main.go`,\n\
                   //! `benches/go/`, [the readme](../../../README.md), `lock.rs:12`.\n";
        assert_eq!(rust(src), Vec::<String>::new());
    }

    #[test]
    fn markdown_section_scopes_bare_names() {
        let md = "# gocsp-sync\n\n`lock.rs`\n\n## gocsp-channel\n\n`blocking.rs`, `lock.rs`.\n\n## gocsp-sync\n\n\
                  `cond.rs`, `blocking.rs`, `gocsp-channel/src/lock.rs`.\n\n## Tools\n\n`blocking.rs`\n";
        assert_eq!(
            markdown(md),
            ["ARCHITECTURE.md:11: names `blocking.rs`, which does not exist"]
        );
    }

    #[test]
    fn missing_document_is_caught() {
        let p = rust("//! Tests of the\n//! rules of DESIGN.md \"sync\".\n");
        assert_eq!(
            p,
            ["crates/gocsp-sync/src/lib.rs:2: names `DESIGN.md`, which does not exist"]
        );
        assert_eq!(markdown("See [the design](DESIGN.md#select).\n").len(), 1);
        assert!(markdown("See README.md and [it](README.md).\n").is_empty());
    }

    #[test]
    fn stale_item_is_caught() {
        let p = rust(
            "/// Gives the claim back\n/// (`Chan::release_claim`), like `Chan::<T>::cap()`.\n",
        );
        assert_eq!(
            p,
            ["crates/gocsp-sync/src/lib.rs:2: names `Chan::release_claim`, which does not exist"]
        );
        assert_eq!(rust("// [`x`](crate::hook::gone)\n").len(), 1);
        assert_eq!(
            rust("// [crate::hook::progressed], [`gocsp::Gone`]\n").len(),
            1
        );
        assert_eq!(
            rust("// `gocsp_channel::hook::{progressed, gone}`\n").len(),
            1
        );
    }

    #[test]
    fn existing_items_pass() {
        let src =
            "// `Chan::cap`, `Cap::Zero`, `Cap::{Zero, Bounded}`, `crate::hook::progressed()`,\n\
                   // `::gocsp::hook`, `gocsp::Mutex`, `gocsp::Rw`, `Chan::state`, `Chan::clone`,\n\
                   // [`Self::cap`], `let n = Chan::<u8>::cap(&c);`, `<Chan<T> as Drop>::drop`.\n";
        assert_eq!(rust(src), Vec::<String>::new());
    }

    #[test]
    fn external_references_are_skipped() {
        let src = "// `tokio::sync::Notify`, `std::mem::take`, `sync.WaitGroup`, `Notify::notified`.\n\
                   // See <https://github.com/golang/go/blob/master/src/runtime/DESIGN.md> and\n\
                   // [x](https://example.com/STYLE.md).\n\
                   // Go's `src/runtime/chan.go`; tokio's `util/linked_list.rs` (as flume's\n\
                   // `benches/basic.rs`), `kanal-0.1.1/src/backoff.rs`, `golang.org/x/sync/a_test.go`.\n\
                   // Source: <https://github.com/golang/go> (`test/chan/`, `src/x/y.go`).\n\
                   // Go 1.25's `wg.go`; a parked `wg.go` goroutine; `target/bench/report.md`, `report.svg`.\n\
                   // Go's own tests (e.g. `src/x/chan_test.go`).\n";
        assert_eq!(rust(src), Vec::<String>::new());
    }

    #[test]
    fn external_qualifier_ends_with_the_phrase() {
        let src = "// Go's `src/runtime/chan.go` does it. Ours is `src/chan.rs`.\n";
        assert_eq!(
            rust(src),
            ["crates/gocsp-sync/src/lib.rs:1: names `src/chan.rs`, which does not exist"]
        );
        let src =
            "//! Go's `src/sync/waitgroup_test.go` ported (tests named after Go's), plus the\n\
                   //! rules of DESIGN.md.\n";
        assert_eq!(rust(src).len(), 1);
        let src = "// As Go's `hchan`, over one state machine (`chan.rs`); Go's `a.go`, `b.go`.\n\
                   // Like Go's `ctx.Done()` — or [`cancelled`](Self::gone).\n";
        assert_eq!(
            rust(src),
            [
                "crates/gocsp-sync/src/lib.rs:1: names `chan.rs`, which does not exist",
                "crates/gocsp-sync/src/lib.rs:2: names `Self::gone`, which does not exist"
            ]
        );
    }

    #[test]
    fn code_blocks_and_code_are_skipped() {
        let src =
            "/// ```\n/// // `gone.rs`, `Chan::gone`\n/// ```\nfn f() { let s = \"`gone.rs`\"; }\n";
        assert_eq!(rust(src), Vec::<String>::new());
        assert!(markdown("```go\nx := `DESIGN.md`\n```\n").is_empty());
    }

    #[test]
    fn block_comments_are_read() {
        let p = rust("/* one\n * `gone.rs`\n */\nfn f() {} /* `Chan::gone` */\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains(":2:") && p[1].contains(":4:"), "{p:?}");
    }

    #[test]
    fn definitions_are_collected() {
        let ix = index();
        for name in [
            "Chan",
            "state",
            "cap",
            "hook",
            "progressed",
            "Zero",
            "Bounded",
            "Mutex",
            "Rw",
        ] {
            assert!(ix.members.contains(name), "{name}");
        }
        assert!(ix.types.contains("Chan") && !ix.types.contains("Mutex"));
    }

    #[test]
    fn item_paths_are_parsed() {
        let p = item_paths("let (tx, rx) = gocsp::chan::<T>(n); Chan<T>::cap(); x.f::<u8>()");
        assert_eq!(p, [vec!["gocsp", "chan"], vec!["Chan", "cap"]]);
        let p = item_paths("gocsp::time::{after, Timer}");
        assert_eq!(
            p,
            [
                vec!["gocsp", "time", "after"],
                vec!["gocsp", "time", "Timer"]
            ]
        );
    }
}
