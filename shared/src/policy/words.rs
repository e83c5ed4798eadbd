//! A kubectl command line as one string (MCP's `execute_kubectl`, A2A text messages) split into
//! words like a POSIX shell would, without any of a shell's expansions: `'…'` and `"…"` quote,
//! `\` escapes the next character, nothing else is special. A leading `kubectl` is dropped.

/// Longest command line accepted.
pub const MAX_COMMAND_CHARS: usize = 4096;

/// `get pods -n demo -o 'custom-columns=NAME:.metadata.name'` → `["get", "pods", "-n", "demo", "-o", "custom-columns=NAME:.metadata.name"]`.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    if line.chars().count() > MAX_COMMAND_CHARS {
        return Err(format!("the command is longer than {MAX_COMMAND_CHARS} characters"));
    }
    if let Some(c) = line.chars().find(|c| matches!(c, '|' | ';' | '&' | '>' | '<' | '`' | '\n')) {
        // Outside quotes these would be shell syntax; Kubently runs exactly one kubectl command.
        if !inside_quotes_only(line, c) {
            return Err(format!("`{c}` is shell syntax; send exactly one kubectl command (no pipes, redirects, substitutions or chaining)"));
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
                        None => return Err("unterminated single quote".into()),
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
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or("a trailing backslash escapes nothing")?);
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
        return Err("the command is empty; send kubectl words such as `get pods -n default`".into());
    }
    Ok(words)
}

/// [`split_command`] as (command type, the words after it).
pub fn split_verb(line: &str) -> Result<(String, Vec<String>), String> {
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
        assert_eq!(split_command("  get  pods\t-o 'custom-columns=NAME:.metadata.name, X:.y' ").expect("ok"), ["get", "pods", "-o", "custom-columns=NAME:.metadata.name, X:.y"]);
        assert_eq!(split_command(r#"get pods -l "app in (a, b)" -o jsonpath='{.items[*].metadata.name}'"#).expect("ok"), ["get", "pods", "-l", "app in (a, b)", "-o", "jsonpath={.items[*].metadata.name}"]);
        assert_eq!(split_command(r"logs my\ pod").expect("ok"), ["logs", "my pod"]);
        assert_eq!(split_verb("kubectl get pods").expect("ok"), ("get".to_string(), vec!["pods".to_string()]));
        assert_eq!(split_command("get pods -o jsonpath={$.items}").expect("nothing is expanded"), ["get", "pods", "-o", "jsonpath={$.items}"]);
    }

    #[test]
    fn refuses_shell_syntax_and_bad_quoting() {
        for bad in ["get pods | grep x", "get pods; rm -rf /", "get pods && echo", "get pods > /tmp/x", "get `id`"] {
            assert!(split_command(bad).expect_err(bad).contains("shell syntax"), "{bad}");
        }
        assert!(split_command("get 'pods").expect_err("quote").contains("unterminated"));
        assert!(split_command("kubectl").expect_err("empty").contains("empty"));
        assert!(split_command(&"x".repeat(5000)).is_err());
    }
}
