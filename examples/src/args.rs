//! A tiny command-line parser: positional words and `--name value` options.

use std::collections::BTreeMap;
use std::str::FromStr;

/// What is wrong with a command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// `--name` was the last word, without a value.
    #[error("option --{0} needs a value")]
    MissingValue(String),
    /// The value of `--name` does not parse.
    #[error("option --{name}: cannot parse {value:?}")]
    BadValue {
        /// The option.
        name: String,
        /// Its value.
        value: String,
    },
    /// An option the command does not know.
    #[error("unknown option --{0}")]
    Unknown(String),
    /// A required option is missing.
    #[error("option --{0} is required")]
    Required(String),
}

/// A parsed command line (without the program name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// Words that are not options, in order.
    pub positional: Vec<String>,
    options: BTreeMap<String, String>,
}

impl Args {
    /// The process's arguments.
    pub fn from_env() -> Result<Args, ArgsError> {
        Args::from_words(std::env::args().skip(1))
    }

    /// Parses `words`: `--name value` or `--name=value` options, anything else positional.
    pub fn from_words(words: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
        let mut args = Args::default();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let Some(name) = word.strip_prefix("--") else {
                args.positional.push(word);
                continue;
            };
            let (name, value) = match name.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = words
                        .next()
                        .ok_or_else(|| ArgsError::MissingValue(name.to_owned()))?;
                    (name.to_owned(), value)
                }
            };
            args.options.insert(name, value);
        }
        Ok(args)
    }

    /// Fails on any option not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), ArgsError> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(ArgsError::Unknown(unknown.clone())),
            None => Ok(()),
        }
    }

    /// The raw value of `--name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// The value of `--name`, parsed.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<Option<T>, ArgsError> {
        self.get(name)
            .map(|value| {
                value.parse().map_err(|_| ArgsError::BadValue {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })
            })
            .transpose()
    }

    /// The value of `--name`, parsed, or `default`.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ArgsError> {
        Ok(self.parse(name)?.unwrap_or(default))
    }

    /// The value of `--name`, which must be given.
    pub fn required(&self, name: &str) -> Result<&str, ArgsError> {
        self.get(name)
            .ok_or_else(|| ArgsError::Required(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Args, ArgsError> {
        Args::from_words(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn options_and_positionals() {
        let args = parse(&["register", "svc", "--port", "80", "--base=/foo"]).unwrap();
        assert_eq!(args.positional, vec!["register", "svc"]);
        assert_eq!(args.parse::<u16>("port").unwrap(), Some(80));
        assert_eq!(args.get("base"), Some("/foo"));
        assert_eq!(args.get("id"), None);
        assert_eq!(args.only(&["port", "base"]), Ok(()));
        assert_eq!(args.only(&["port"]), Err(ArgsError::Unknown("base".into())));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&["--zk"]), Err(ArgsError::MissingValue("zk".into())));
        let args = parse(&["--port", "x"]).unwrap();
        assert!(matches!(
            args.parse::<u16>("port"),
            Err(ArgsError::BadValue { .. })
        ));
        assert_eq!(
            args.required("base"),
            Err(ArgsError::Required("base".into()))
        );
    }
}
