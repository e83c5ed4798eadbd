//! One caller token (a list element of `args`/`extra_args`, or a word of `command_type`), where
//! it came from, and the checks every token passes before any verb looks at it.

use super::error::{Location, PolicyError, preview};

/// Longest single token (and so longest selector or template).
pub const MAX_TOKEN_CHARS: usize = 1024;

/// One caller token and where it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub at: Location,
}

/// Refuses empty tokens, tokens longer than [`MAX_TOKEN_CHARS`] and tokens with a control
/// character.
pub(crate) fn check_token(token: &Token<'_>) -> Result<(), PolicyError> {
    let (what, reason) = if token.text.is_empty() {
        ("empty argument".to_owned(), "every element must be a non-empty word; remove it")
    } else if token.text.chars().count() > MAX_TOKEN_CHARS {
        (format!("argument `{}`", preview(token.text)), "it is longer than 1024 characters")
    } else if token.text.chars().any(char::is_control) {
        (
            format!("argument `{}`", preview(token.text)),
            "it contains a control character (newline, tab, …); send each word as its own \
             element, and write `{\"\\n\"}` for a newline inside a jsonpath template",
        )
    } else {
        return Ok(());
    };
    Err(PolicyError::InvalidToken { what, reason, at: token.at })
}
