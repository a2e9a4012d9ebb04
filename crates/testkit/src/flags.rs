//! The command lines of the testkit's binaries: `--name value` or `--name=value` pairs.

/// The `(name, value)` pairs of `args` (the program name already left out), in order. `-h` or
/// `--help`, or a name without its value, gives an error carrying `usage`; which names are
/// known is the caller's to check.
pub fn pairs(
    args: impl IntoIterator<Item = String>,
    usage: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut args = args.into_iter();
    let mut out = Vec::new();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg, None),
        };
        if name == "-h" || name == "--help" {
            return Err(usage.to_string());
        }
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| format!("{name} needs a value\n{usage}"))?,
        };
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn both_spellings_give_pairs_in_order() {
        let got = pairs(strings(&["--a", "1", "--b=x=y", "--a", "2"]), "U").unwrap();
        assert_eq!(
            got,
            vec![
                ("--a".into(), "1".into()),
                ("--b".into(), "x=y".into()),
                ("--a".into(), "2".into())
            ]
        );
    }

    #[test]
    fn help_and_a_missing_value_carry_the_usage() {
        assert_eq!(pairs(strings(&["--a", "1", "-h"]), "U"), Err("U".into()));
        assert_eq!(
            pairs(strings(&["--a"]), "U"),
            Err("--a needs a value\nU".into())
        );
    }
}
