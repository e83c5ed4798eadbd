//! A kubectl command line as one string (MCP's `execute_kubectl`, A2A text messages) split into
//! words like a POSIX shell would, without any of a shell's expansions: `'…'` and `"…"` quote,
//! `\` escapes the next character, nothing else is special. A leading `kubectl` is dropped.

/// Longest command line accepted.
pub const MAX_COMMAND_CHARS: usize = 4096;

/// Why a command line could not be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the command is longer than {MAX_COMMAND_CHARS} characters")]
    TooLong,
    /// Outside quotes this character would be shell syntax.
    #[error(
        "`{0}` is shell syntax; send exactly one kubectl command (no pipes, redirects, substitutions or chaining)"
    )]
    ShellSyntax(char),
    #[error("unterminated single quote")]
    UnterminatedSingleQuote,
    #[error("unterminated double quote")]
    UnterminatedDoubleQuote,
    #[error("a trailing backslash escapes nothing")]
    TrailingBackslash,
    #[error("the command is empty; send kubectl words such as `get pods -n default`")]
    Empty,
}

/// The message, for callers that report errors as text.
impl From<SplitError> for String {
    fn from(e: SplitError) -> Self {
        e.to_string()
    }
}

/// `get pods -n demo -o 'custom-columns=NAME:.metadata.name'` → `["get", "pods", "-n", "demo", "-o", "custom-columns=NAME:.metadata.name"]`.
pub fn split_command(line: &str) -> Result<Vec<String>, SplitError> {
    if line.chars().count() > MAX_COMMAND_CHARS {
        return Err(SplitError::TooLong);
    }
    if let Some(c) = line.chars().find(|c| matches!(c, '|' | ';' | '&' | '>' | '<' | '`' | '\n')) {
        // Outside quotes these would be shell syntax; Kubently runs exactly one kubectl command.
        if !inside_quotes_only(line, c) {
            return Err(SplitError::ShellSyntax(c));
        }
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err(SplitError::UnterminatedSingleQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => word.push(ch),
                            None => return Err(SplitError::UnterminatedDoubleQuote),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err(SplitError::UnterminatedDoubleQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or(SplitError::TrailingBackslash)?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.first().is_some_and(|w| w == "kubectl") {
        words.remove(0);
    }
    if words.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(words)
}

/// [`split_command`] as (command type, the words after it).
pub fn split_verb(line: &str) -> Result<(String, Vec<String>), SplitError> {
    let mut words = split_command(line)?;
    let verb = words.remove(0);
    Ok((verb, words))
}

/// Whether every occurrence of `c` in `line` is inside quotes.
fn inside_quotes_only(line: &str, c: char) -> bool {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for ch in line.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            x if x == c && !single && !double => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell_without_expansions() {
        assert_eq!(split_command("kubectl get pods -n demo").expect("ok"), ["get", "pods", "-n", "demo"]);
        assert_eq!(
            split_command("  get  pods\t-o 'custom-columns=NAME:.metadata.name, X:.y' ").expect("ok"),
            ["get", "pods", "-o", "custom-columns=NAME:.metadata.name, X:.y"]
        );
        assert_eq!(
            split_command(r#"get pods -l "app in (a, b)" -o jsonpath='{.items[*].metadata.name}'"#)
                .expect("ok"),
            ["get", "pods", "-l", "app in (a, b)", "-o", "jsonpath={.items[*].metadata.name}"]
        );
        assert_eq!(split_command(r"logs my\ pod").expect("ok"), ["logs", "my pod"]);
        assert_eq!(
            split_verb("kubectl get pods").expect("ok"),
            ("get".to_string(), vec!["pods".to_string()])
        );
        assert_eq!(
            split_command("get pods -o jsonpath={$.items}").expect("nothing is expanded"),
            ["get", "pods", "-o", "jsonpath={$.items}"]
        );
    }

    #[test]
    fn refuses_shell_syntax_and_bad_quoting() {
        for bad in
            ["get pods | grep x", "get pods; rm -rf /", "get pods && echo", "get pods > /tmp/x", "get `id`"]
        {
            assert!(split_command(bad).expect_err(bad).to_string().contains("shell syntax"), "{bad}");
        }
        assert_eq!(split_command("get 'pods"), Err(SplitError::UnterminatedSingleQuote));
        assert!(split_command("kubectl").expect_err("empty").to_string().contains("empty"));
        assert_eq!(String::from(SplitError::TrailingBackslash), "a trailing backslash escapes nothing");
        assert!(split_command(&"x".repeat(5000)).is_err());
    }
}
