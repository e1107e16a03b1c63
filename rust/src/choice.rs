//! String options (a ranking method, a fill rule) are parsed with `FromStr`
//! from a table of names; an unknown name is an error that lists the choices.

/// The value called `name` in `choices`, or an error that names `what` was
/// asked for and lists the choices.
pub fn parse<T: Copy>(what: &str, name: &str, choices: &[(&str, T)]) -> Result<T, String> {
    if let Some(&(_, value)) = choices.iter().find(|(n, _)| *n == name) {
        return Ok(value);
    }
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    let listed = match names.as_slice() {
        [rest @ .., last] if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        one => one.concat(),
    };
    Err(format!("unknown {what} {name:?} (use {listed})"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn unknown_names_list_the_choices() {
        let choices = [("a", 1), ("b", 2), ("c", 3)];
        assert_eq!(parse("letter", "b", &choices), Ok(2));
        assert_eq!(
            parse("letter", "d", &choices).unwrap_err(),
            "unknown letter \"d\" (use a, b or c)"
        );
        assert_eq!(
            parse("letter", "x", &choices[..1]).unwrap_err(),
            "unknown letter \"x\" (use a)"
        );
    }
}
