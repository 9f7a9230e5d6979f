//! [`CurveFlags`]: the command-line options that turn CURVE on in a server
//! binary (echo-server, game-server, your own).

use std::path::{Path, PathBuf};

use plug::server::{CurveServer, ServerError};

/// CURVE options for a server binary; `#[command(flatten)]` them into its
/// clap arguments and call [`CurveFlags::curve`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CurveFlags {
    /// Encrypt with CURVE using this server secret key (Z85, 40 characters;
    /// `plug keygen` makes one). Needs the secure build (README).
    #[arg(
        long,
        value_name = "KEY",
        allow_hyphen_values = true,
        conflicts_with = "curve_secret_key_file"
    )]
    pub curve_secret_key: Option<String>,
    /// Like --curve-secret-key, read from FILE (e.g. written by `plug keygen
    /// --out FILE`).
    #[arg(long, value_name = "FILE")]
    pub curve_secret_key_file: Option<PathBuf>,
    /// Admit the CURVE client with this public key (repeatable); every other
    /// client is refused and logged.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    pub curve_allow: Vec<String>,
    /// Admit the client public keys in FILE, one per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub curve_allow_file: Vec<PathBuf>,
}

impl CurveFlags {
    /// `None` without a secret key (plain text); an error for allow-list
    /// flags without one, unreadable files or bad keys.
    pub fn curve(&self) -> Result<Option<CurveServer>, ServerError> {
        let secret = match (&self.curve_secret_key, &self.curve_secret_key_file) {
            (Some(key), _) => Some(key.trim().to_owned()),
            (None, Some(path)) => {
                Some(read_keys(path)?.into_iter().next().ok_or_else(|| {
                    ServerError::Curve(format!("{}: no key in it", path.display()))
                })?)
            }
            (None, None) => None,
        };
        let mut allow: Vec<String> = self
            .curve_allow
            .iter()
            .map(|k| k.trim().to_owned())
            .collect();
        for path in &self.curve_allow_file {
            allow.extend(read_keys(path)?);
        }
        let Some(secret) = secret else {
            if allow.is_empty() {
                return Ok(None);
            }
            return Err(ServerError::Curve(
                "--curve-allow needs --curve-secret-key or --curve-secret-key-file".into(),
            ));
        };
        let server = CurveServer {
            secret_key: secret,
            allow,
        };
        server.check()?;
        Ok(Some(server))
    }
}

/// The keys in a file: one per line, blank lines and `#` comments skipped.
fn read_keys(path: &Path) -> Result<Vec<String>, ServerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::Curve(format!("cannot read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    const PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

    #[test]
    fn flags_and_files() {
        assert_eq!(CurveFlags::default().curve().unwrap(), None);
        let only_allow = CurveFlags {
            curve_allow: vec![PUBLIC.into()],
            ..CurveFlags::default()
        };
        assert!(only_allow
            .curve()
            .unwrap_err()
            .to_string()
            .contains("--curve-secret-key"));
        let dir = std::env::temp_dir().join(format!("plug-curve-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), format!("{SECRET}\n")).unwrap();
        std::fs::write(dir.join("allow"), format!("# team\n{PUBLIC}\n\n")).unwrap();
        let flags = CurveFlags {
            curve_secret_key_file: Some(dir.join("secret")),
            curve_allow_file: vec![dir.join("allow")],
            ..CurveFlags::default()
        };
        let c = flags.curve().unwrap().unwrap();
        assert_eq!(c.secret_key, SECRET);
        assert_eq!(c.allow, vec![PUBLIC.to_owned()]);
        let bad = CurveFlags {
            curve_secret_key: Some(SECRET.into()),
            curve_allow: vec!["nope".into()],
            ..CurveFlags::default()
        };
        assert!(bad.curve().is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
