//! [`LevelError`]: what is wrong with a level and where, worded for the person editing the
//! file (`caves.level.ron:7: wall_density: 0.9 must be in [0, 0.75]`), not for a programmer.

use super::format::LevelSpec;

/// A level that cannot be used, with what is wrong in it and where.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum LevelError {
    /// The file could not be read.
    #[error("cannot read level {path}: {reason}")]
    Io {
        /// File path.
        path: String,
        /// OS message.
        reason: String,
    },
    /// The RON did not parse: syntax, an unknown field, a wrong type.
    #[error("{path}:{line}:{column}: {reason}")]
    Parse {
        /// File path.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message.
        reason: String,
    },
    /// The asset server could not load a level file, and not because the loader refused it
    /// (a missing file, no loader for it): the server's message, first line, kept as text
    /// because the server's error is not ours to match on.
    #[error("{0}")]
    Rejected(String),
    /// The values parsed but cannot make a level.
    #[error("{origin}{}: {field}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// File path, or the level name when it did not come from a file.
        origin: String,
        /// 1-based line of the field, when known.
        line: Option<usize>,
        /// The field at fault (`props.pillars`, `layout` ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl LevelError {
    /// An [`LevelError::Invalid`] naming the level, for checks that see only the spec; a
    /// caller that has the file text names the file and line with [`LevelError::locate`].
    pub(crate) fn invalid(spec: &LevelSpec, field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            origin: origin(spec),
            line: None,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The error of a RON parse of the file `origin`, at the parser's line and column.
    pub(crate) fn from_ron_error(error: ron::error::SpannedError, origin: &str) -> Self {
        Self::Parse {
            path: origin.into(),
            line: error.span.start.line,
            column: error.span.start.col,
            reason: error.code.to_string(),
        }
    }

    /// Names `origin` (a file) and the line of the field in `text`.
    pub(crate) fn locate(self, origin: &str, text: &str) -> Self {
        match self {
            Self::Invalid { field, reason, .. } => {
                let line = field_line(text, &field);
                Self::Invalid {
                    origin: origin.into(),
                    line,
                    field,
                    reason,
                }
            }
            other => other,
        }
    }
}

/// How errors name a level that did not come from a file: `level 'maze'`. A name that would
/// not pass validation is shown escaped and cut to its first 64 characters, so the message
/// stays one short line.
fn origin(spec: &LevelSpec) -> String {
    let name: String = spec.name.chars().take(64).collect();
    let more = if spec.name.chars().nth(64).is_some() {
        "..."
    } else {
        ""
    };
    format!("level '{}{more}'", name.escape_debug())
}

/// A `key:` of a RON text, outside comments and strings: its name, how deep it sits (1: a
/// field of the level itself, 2: a field of one of those ...) and its 1-based line.
struct Key<'a> {
    name: &'a str,
    depth: usize,
    line: usize,
}

/// Every `key:` of `text`, in order.
fn keys(text: &str) -> Vec<Key<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line, mut depth) = (0, 1, 0usize);
    // Skips a quoted string or character from its opening quote, counting lines.
    let skip_quoted = |i: &mut usize, line: &mut usize, quote: u8| {
        *i += 1;
        while *i < bytes.len() && bytes[*i] != quote {
            match bytes[*i] {
                b'\\' => *i += 1,
                b'\n' => *line += 1,
                _ => {}
            }
            *i += 1;
        }
        *i += 1;
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                // Block comments nest in RON.
                let mut open = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        open += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        open -= 1;
                        i += 2;
                        if open == 0 {
                            break;
                        }
                    } else {
                        if bytes[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            quote @ (b'"' | b'\'') => skip_quoted(&mut i, &mut line, quote),
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let after = text[i..].trim_start_matches([' ', '\t', '\r']);
                if after.starts_with(':') {
                    out.push(Key {
                        name: &text[start..i],
                        depth,
                        line,
                    });
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// 1-based line of the field `path` (`wall_density`, `props.pillars`, `generator.rooms`) in
/// `text`: its first segment as a field of the level itself, each next one inside the one
/// before; when a later segment is not written out, the line of the last one that is.
fn field_line(text: &str, path: &str) -> Option<usize> {
    let keys = keys(text);
    let mut segments = path.split('.');
    let first = segments.next()?;
    let mut at = keys
        .iter()
        .position(|k| k.name == first && k.depth == 1)
        .or_else(|| keys.iter().position(|k| k.name == first))?;
    for segment in segments {
        let depth = keys[at].depth;
        let mut inside = keys[at + 1..].iter().take_while(|k| k.depth > depth);
        match inside.position(|k| k.name == segment) {
            Some(p) => at += 1 + p,
            None => break,
        }
    }
    Some(keys[at].line)
}
