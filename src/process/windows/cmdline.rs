//! Command lines and environment blocks as `CreateProcessW` takes them, for the programs the
//! crate starts itself (terminal programs; runners go through `std::process::Command`), and
//! the `PATH` + `PATHEXT` lookup.

use std::io;

/// `PATHEXT` when the host has none.
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// Whether `program` is a batch file, which only `cmd.exe` can run.
pub fn is_batch(program: &str) -> bool {
    let lower = program.to_ascii_lowercase();
    lower.ends_with(".bat") || lower.ends_with(".cmd")
}

/// The first `dir\name` (with a `PATHEXT` extension unless `name` has one of them) in the
/// `;`-separated `path` for which `exists` holds.
pub fn search_path(
    name: &str,
    path: &str,
    pathext: Option<&str>,
    exists: impl Fn(&str) -> bool,
) -> Option<String> {
    let exts: Vec<&str> = pathext
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(DEFAULT_PATHEXT)
        .split(';')
        .map(str::trim)
        .filter(|e| e.starts_with('.'))
        .collect();
    let lower = name.to_ascii_lowercase();
    let has_ext = exts
        .iter()
        .any(|e| lower.ends_with(&e.to_ascii_lowercase()));
    for dir in path.split(';').map(|d| d.trim().trim_matches('"')) {
        if dir.is_empty() {
            continue;
        }
        let sep = if dir.ends_with(['\\', '/']) { "" } else { "\\" };
        if has_ext {
            let candidate = format!("{dir}{sep}{name}");
            if exists(&candidate) {
                return Some(candidate);
            }
            continue;
        }
        for ext in &exts {
            let candidate = format!("{dir}{sep}{name}{}", ext.to_ascii_lowercase());
            if exists(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

/// One argument as the Microsoft C runtime splits a command line back into `argv`.
fn push_arg(arg: &str, out: &mut String) {
    if !arg.is_empty() && !arg.contains([' ', '\t', '\n', '\x0b', '"']) {
        out.push_str(arg);
        return;
    }
    out.push('"');
    let mut backslashes = 0usize;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                // Backslashes before a quote are doubled, and the quote escaped.
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    // Backslashes before the closing quote are doubled.
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
}

/// The program (argv\[0\]), quoted as the C runtime reads it: up to the next quote, no
/// escapes, so a path with a quote cannot be passed.
fn push_program(program: &str, out: &mut String) -> io::Result<()> {
    if program.contains('"') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a program path cannot contain '\"'",
        ));
    }
    out.push('"');
    out.push_str(program);
    out.push('"');
    Ok(())
}

/// Characters `cmd.exe` expands or splits on even inside quotes: an argument holding one is
/// refused for a batch file rather than passed on (the batch-file injection class,
/// CVE-2024-27980 in Node, CVE-2024-24576 in Rust).
const BATCH_UNSAFE: &[char] = &['"', '%', '!', '\r', '\n', '\0'];

/// The command line of `program` with `args`; with `batch = Some((file, args))`, `program`
/// is `cmd.exe` and runs the batch file with its arguments, each quoted so `cmd.exe` takes
/// `& | < > ( ) ^` literally and refused if it holds a character it would expand anyway.
pub fn command_line(
    program: &str,
    args: &[String],
    batch: Option<(&str, &[String])>,
) -> io::Result<String> {
    let mut line = String::new();
    push_program(program, &mut line)?;
    for a in args {
        line.push(' ');
        push_arg(a, &mut line);
    }
    if let Some((file, batch_args)) = batch {
        // /d: no AutoRun commands; /v:off: `!` is not expanded; /s /c "…": cmd.exe strips
        // exactly the outer pair of quotes and runs the rest.
        line.push_str(" /d /v:off /s /c \"");
        push_program(file, &mut line)?;
        for a in batch_args {
            if a.contains(BATCH_UNSAFE) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("argument {a:?} cannot be passed safely to a batch file"),
                ));
            }
            line.push_str(" \"");
            line.push_str(a);
            line.push('"');
        }
        line.push('"');
    }
    Ok(line)
}

/// `KEY=value\0…\0\0` in UTF-16, sorted by key without regard to case (as Windows keeps its
/// environment).
pub fn environment_block(env: &[(String, String)]) -> Vec<u16> {
    let mut pairs: Vec<&(String, String)> = env.iter().collect();
    pairs.sort_by_key(|(k, _)| k.to_uppercase());
    let mut block = Vec::new();
    for (k, v) in pairs {
        block.extend(format!("{k}={v}").encode_utf16());
        block.push(0);
    }
    if block.is_empty() {
        block.push(0);
    }
    block.push(0);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        command_line(r"C:\p\a.exe", &args, None).expect("line")
    }

    #[test]
    fn arguments_survive_the_c_runtime_splitting() {
        assert_eq!(line(&["a", "b c", ""]), r#""C:\p\a.exe" a "b c" """#);
        assert_eq!(line(&[r#"say "hi""#]), r#""C:\p\a.exe" "say \"hi\"""#);
        assert_eq!(line(&[r"C:\dir\ x\"]), r#""C:\p\a.exe" "C:\dir\ x\\""#);
        assert_eq!(line(&[r"a\\b"]), r#""C:\p\a.exe" a\\b"#);
        assert!(command_line("a\"b", &[], None).is_err());
    }

    #[test]
    fn batch_files_run_through_cmd_with_unsafe_arguments_refused() {
        let ok: Vec<String> = vec!["x & calc".into(), "(a)|b".into()];
        let l = command_line(r"C:\W\cmd.exe", &[], Some((r"C:\b\claude.cmd", &ok))).expect("l");
        assert_eq!(
            l,
            r#""C:\W\cmd.exe" /d /v:off /s /c ""C:\b\claude.cmd" "x & calc" "(a)|b"""#
        );
        for bad in ["%PATH%", "a\"&calc", "!x!", "a\nb"] {
            let args = vec![bad.to_string()];
            let e = command_line("cmd.exe", &[], Some(("x.bat", &args))).expect_err(bad);
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
        assert!(is_batch(r"C:\x\Claude.CMD") && is_batch("a.bat") && !is_batch("a.exe"));
    }

    #[test]
    fn path_lookup_tries_pathext_in_order() {
        let have = |p: &str| p == r"C:\b\claude.cmd" || p == r"C:\a\node.exe";
        let path = r"C:\a;C:\b\";
        assert_eq!(
            search_path("claude", path, None, have).as_deref(),
            Some(r"C:\b\claude.cmd")
        );
        assert_eq!(
            search_path("node", path, Some(".EXE;.CMD"), have).as_deref(),
            Some(r"C:\a\node.exe")
        );
        assert_eq!(
            search_path("node.exe", path, None, have).as_deref(),
            Some(r"C:\a\node.exe")
        );
        assert_eq!(search_path("claude", path, Some(".EXE"), have), None);
    }

    #[test]
    fn environment_blocks_are_sorted_and_double_terminated() {
        let env = vec![("b".to_string(), "2".to_string()), ("A".into(), "1".into())];
        let block = String::from_utf16_lossy(&environment_block(&env));
        assert_eq!(block, "A=1\0b=2\0\0");
        assert_eq!(environment_block(&[]), vec![0, 0]);
    }
}
