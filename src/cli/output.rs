//! Everything the commands print goes through here.
//!
//! Rust ignores SIGPIPE, so writing to a pipe whose reader has gone (`a2a-gateway
//! agents list | head -1`) fails with EPIPE, and `println!` turns that into a
//! panic with a backtrace and exit code 101. Here a closed stdout is what it is
//! for the user: the reader has what it wanted. [`line`] reports it as
//! [`CliError::output_closed`], which commands pass up with `?` like any error,
//! so they stop at once, and `main` exits 0 without a word. Notes on stderr
//! cannot be reported anywhere when they fail, so their errors are dropped.

use std::fmt::Display;
use std::io::{ErrorKind, Write};

use super::CliError;

/// Writes `text` and a newline to stdout (flushed: stream events show as they
/// arrive, even in a pipe).
pub fn line(text: impl Display) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(written)
}

/// What a failed write to stdout means for the command.
fn written(e: std::io::Error) -> CliError {
    if e.kind() == ErrorKind::BrokenPipe {
        CliError::output_closed()
    } else {
        CliError::remote(format!("cannot write to stdout: {e}"))
    }
}

/// Writes `text` and a newline to stderr: hints and summaries for people.
pub fn note(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Writes `text` to stderr without a newline and flushes it (the spinner).
pub fn progress(text: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{text}").and_then(|()| err.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_reader_is_a_quiet_end_other_failures_are_errors() {
        let closed = written(std::io::Error::from(ErrorKind::BrokenPipe));
        assert!(closed.is_output_closed(), "{closed:?}");
        let full = written(std::io::Error::other("disk full"));
        assert!(!full.is_output_closed());
        assert!(full.message.contains("disk full"), "{full}");
    }
}
