//! `plug keygen`: a new CURVE key pair, printed or written to files.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use plug::Keypair;

use crate::failure::Failure;

/// Prints the pair as TOML lines, or writes `out` (the secret key, mode
/// 0600) and `out.pub` (the public key) and says so.
pub fn keygen(out: Option<PathBuf>, force: bool) -> Result<String, Failure> {
    let pair = Keypair::random();
    let Some(secret_path) = out else {
        return Ok(format!(
            "# CURVE key pair (Z85): give the public key to the other side, keep the secret key.\n\
             public_key = \"{}\"\n\
             secret_key = \"{}\"\n",
            pair.public(),
            pair.secret()
        ));
    };
    let mut public_path = secret_path.clone().into_os_string();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    write_key(&secret_path, pair.secret(), 0o600, force)?;
    write_key(&public_path, pair.public(), 0o644, force)?;
    Ok(format!(
        "wrote {} (secret key, mode 0600) and {} (public key)\npublic key: {}\n",
        secret_path.display(),
        public_path.display(),
        pair.public()
    ))
}

fn write_key(path: &Path, key: &str, mode: u32, force: bool) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::file("write", path, e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(mode);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::usage(format!(
                "{} exists; pass --force to replace it",
                path.display()
            ))
        } else {
            fail(e)
        }
    })?;
    // `mode` applies only to new files; an overwritten one is narrowed too.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(fail)?;
    writeln!(file, "{key}").map_err(fail)
}
