//! What a bad price file reports: which file, which line, what is wrong.

use std::fmt;

/// A bad price file: which file, where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookError {
    file: String,
    line: Option<usize>,
    message: String,
}

impl BookError {
    pub(crate) fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> BookError {
        BookError {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// The file (a path, or `<provider>.toml` for text given directly).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line, when the problem has one.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for BookError {}
