//! Secrets typed by a person (a prompt without echo) or piped in by a script (one line each
//! on stdin). Never command-line arguments: those show up in `ps` and shell history.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, Result, bail};
use syncdesk_engine::secrets::Secret;

/// Reads secrets in the order they are asked for, each from stdin or a prompt.
#[derive(Default)]
pub struct SecretInput {
    stdin_lines: usize,
}

impl SecretInput {
    /// The next line of stdin (without its line end); `what` names it in errors.
    pub fn stdin_line(&mut self, what: &str) -> Result<Secret> {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        self.stdin_lines += 1;
        let value = line.trim_end_matches(['\n', '\r']);
        if value.is_empty() {
            bail!(
                "no {what} on stdin (expected it on line {} of the input)",
                self.stdin_lines
            );
        }
        Ok(Secret::new(value))
    }

    /// Asks on the terminal without echo.
    pub fn prompt(&mut self, what: &str, flag: &str) -> Result<Secret> {
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for the {what}: give it on stdin with {flag}");
        }
        let value = rpassword::prompt_password(format!("{what}: "))
            .with_context(|| format!("cannot read the {what}"))?;
        if value.is_empty() {
            bail!("the {what} is empty");
        }
        Ok(Secret::new(value))
    }

    /// From stdin when `stdin` is set, else from a prompt.
    pub fn read(&mut self, what: &str, stdin: bool, flag: &str) -> Result<Secret> {
        if stdin {
            self.stdin_line(what)
        } else {
            self.prompt(what, flag)
        }
    }

    /// A new passphrase: typed twice at a prompt so a typo does not lock the data away.
    pub fn new_passphrase(&mut self, stdin: bool, flag: &str) -> Result<Secret> {
        let first = self.read("new passphrase", stdin, flag)?;
        if !stdin {
            let again = self.prompt("new passphrase (again)", flag)?;
            if again != first {
                bail!("the two passphrases differ; nothing was changed");
            }
        }
        Ok(first)
    }
}
