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
            origin: format!("level '{}'", spec.name),
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
                let key = field.rsplit('.').next().unwrap_or(&field).to_string();
                let line = field_line(text, &key);
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

/// 1-based line where `key:` first appears outside a comment.
fn field_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let code = l.split("//").next().unwrap_or("");
            code.match_indices(key).any(|(i, _)| {
                let before_ok = code[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                let after = code[i + key.len()..].trim_start();
                before_ok && after.starts_with(':')
            })
        })
        .map(|i| i + 1)
}
