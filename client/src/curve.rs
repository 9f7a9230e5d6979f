//! CURVE keys: [`Keypair`], Z85 checks, and whether this libzmq can encrypt.
//!
//! Keys travel as Z85 text (40 characters for 32 bytes), as in every ZeroMQ
//! binding. The default build of this kit compiles libzmq without libsodium,
//! so it has no CURVE; [`require_curve`] turns a request for CURVE into
//! [`CurveUnavailable`] instead of a silent plain-text connection.

use std::fmt;

/// Length of a CURVE key in Z85 text.
pub const Z85_KEY_LEN: usize = 40;

const Z85_ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// CURVE was asked for, but the libzmq in this program cannot do it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "CURVE encryption was requested, but the libzmq in this program has no CURVE \
     (zmq::has(\"curve\") is false: the default build compiles libzmq without libsodium). \
     Nothing was sent in plain text. Use the secure build, which links the system libzmq: \
     `apt-get install libzmq3-dev`, then \
     `CARGO_TARGET_DIR=target/secure cargo --config secure-build.toml build` \
     (README, \"Secure plugs (CURVE)\")"
)]
pub struct CurveUnavailable;

/// Whether the libzmq in use supports CURVE.
///
/// # Examples
///
/// ```
/// // false in the default build, true in the secure build.
/// let _ = plug::curve_available();
/// ```
pub fn curve_available() -> bool {
    zmq::has("curve") == Some(true)
}

/// `Ok` when CURVE can be used, [`CurveUnavailable`] otherwise.
pub fn require_curve() -> Result<(), CurveUnavailable> {
    if curve_available() {
        Ok(())
    } else {
        Err(CurveUnavailable)
    }
}

/// Checks that `key` is a CURVE key in Z85 text; the error says what is wrong
/// without repeating the key (it may be a secret).
///
/// # Examples
///
/// ```
/// assert!(plug::check_z85_key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").is_ok());
/// assert!(plug::check_z85_key("too short").is_err());
/// ```
pub fn check_z85_key(key: &str) -> Result<(), String> {
    if key.len() != Z85_KEY_LEN {
        return Err(format!(
            "expected a CURVE key of {Z85_KEY_LEN} Z85 characters, got {} characters",
            key.chars().count()
        ));
    }
    if let Some((i, c)) = key
        .char_indices()
        .find(|(_, c)| !c.is_ascii() || !Z85_ALPHABET.contains(&(*c as u8)))
    {
        return Err(format!(
            "character {} ({c:?}) is not in the Z85 alphabet",
            i + 1
        ));
    }
    Ok(())
}

/// The 32 bytes behind a checked Z85 key.
pub(crate) fn decode(key: &str) -> Result<Vec<u8>, String> {
    check_z85_key(key)?;
    zmq::z85_decode(key).map_err(|e| e.to_string())
}

/// The public key that belongs to a secret key, both in Z85 text.
pub(crate) fn public_of(secret: &str) -> Result<String, String> {
    check_z85_key(secret)?;
    let secret = std::ffi::CString::new(secret).map_err(|e| e.to_string())?;
    let mut public = [0u8; Z85_KEY_LEN + 1];
    // SAFETY: libzmq writes 40 characters and a NUL into `public` (41 bytes)
    // and reads a NUL-terminated 40-character key from `secret`.
    let rc = unsafe { zmq_curve_public(public.as_mut_ptr().cast(), secret.as_ptr()) };
    if rc != 0 {
        return Err(CurveUnavailable.to_string());
    }
    Ok(String::from_utf8_lossy(&public[..Z85_KEY_LEN]).into_owned())
}

// In libzmq since 4.2.1; zmq-sys declares it but does not re-export it.
extern "C" {
    fn zmq_curve_public(
        z85_public_key: *mut std::os::raw::c_char,
        z85_secret_key: *const std::os::raw::c_char,
    ) -> std::os::raw::c_int;
}

/// A CURVE key pair in Z85 text. `Debug` never shows the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Keypair {
    public: String,
    secret: String,
}

impl Keypair {
    /// A new random key pair (`zmq_curve_keypair`). Needs a libzmq with
    /// CURVE.
    ///
    /// # Examples
    ///
    /// ```
    /// match plug::Keypair::generate() {
    ///     Ok(pair) => assert_eq!(pair.public().len(), 40),
    ///     Err(e) => assert!(e.to_string().contains("secure-build.toml")),
    /// }
    /// ```
    pub fn generate() -> Result<Keypair, CurveUnavailable> {
        require_curve()?;
        let pair = zmq::CurveKeyPair::new().map_err(|_| CurveUnavailable)?;
        let text = |bytes: &[u8]| zmq::z85_encode(bytes).expect("32 bytes encode");
        Ok(Keypair {
            public: text(&pair.public_key),
            secret: text(&pair.secret_key),
        })
    }

    /// A key pair from its two Z85 keys; the error names the bad one.
    pub fn from_z85(public: &str, secret: &str) -> Result<Keypair, String> {
        check_z85_key(public).map_err(|e| format!("public key: {e}"))?;
        check_z85_key(secret).map_err(|e| format!("secret key: {e}"))?;
        Ok(Keypair {
            public: public.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The key pair of a secret key (its public key is derived). Needs a
    /// libzmq with CURVE.
    pub fn from_secret(secret: &str) -> Result<Keypair, crate::Error> {
        require_curve()?;
        let public = public_of(secret).map_err(|m| crate::ConfigError::new("secret_key", m))?;
        Ok(Keypair {
            public,
            secret: secret.to_owned(),
        })
    }

    /// The public key, Z85: give it to the other side.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// The secret key, Z85: keep it.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A plug's CURVE settings: the server's public key and the plug's own key
/// pair (generated when left out). `Debug` never shows the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveClient {
    /// The server's public key (config key `server_key`).
    pub server_key: String,
    /// The plug's public key (`public_key`); with `secret_key`, or neither.
    pub public_key: Option<String>,
    /// The plug's secret key (`secret_key`).
    pub secret_key: Option<String>,
}

impl CurveClient {
    /// CURVE to a server with this public key, with a generated key pair.
    pub fn new(server_key: impl Into<String>) -> CurveClient {
        CurveClient {
            server_key: server_key.into(),
            public_key: None,
            secret_key: None,
        }
    }

    /// Checks the keys; the error is `(key name, message)`.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        check_z85_key(&self.server_key).map_err(|m| ("server_key", m))?;
        match (&self.public_key, &self.secret_key) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(("secret_key", "required with public_key".into())),
            (None, Some(_)) => Err(("public_key", "required with secret_key".into())),
            (Some(p), Some(s)) => {
                check_z85_key(p).map_err(|m| ("public_key", m))?;
                check_z85_key(s).map_err(|m| ("secret_key", m))
            }
        }
    }

    /// Makes `sock` a CURVE client of the server (before it connects), with
    /// the configured key pair or a new one. Fails rather than leave the
    /// socket in plain text.
    pub fn apply(&self, sock: &zmq::Socket) -> Result<(), crate::Error> {
        require_curve()?;
        let pair = match (&self.public_key, &self.secret_key) {
            (Some(p), Some(s)) => Keypair::from_z85(p, s).map_err(invalid)?,
            _ => Keypair::generate()?,
        };
        let key = |k: &str| decode(k).map_err(invalid);
        let server = key(&self.server_key)?;
        let setup = || -> Result<(), zmq::Error> {
            sock.set_curve_serverkey(&server)?;
            sock.set_curve_publickey(&key_bytes(pair.public()))?;
            sock.set_curve_secretkey(&key_bytes(pair.secret()))
        };
        setup().map_err(|e| crate::Error::Transport(e.into()))
    }
}

fn invalid(message: String) -> crate::Error {
    crate::Error::Config(crate::ConfigError::new("", message))
}

fn key_bytes(checked: &str) -> Vec<u8> {
    zmq::z85_decode(checked).expect("a checked key decodes")
}

impl fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveClient")
            .field("server_key", &self.server_key)
            .field("public_key", &self.public_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    #[test]
    fn z85_keys_are_checked() {
        assert!(check_z85_key(KEY).is_ok());
        let e = check_z85_key(&KEY[..39]).unwrap_err();
        assert!(e.contains("40 Z85 characters, got 39"), "{e}");
        let e = check_z85_key(&format!("{}\"", &KEY[..39])).unwrap_err();
        assert!(e.contains("character 40"), "{e}");
        let e = check_z85_key(&format!("{}é", &KEY[..38])).unwrap_err();
        assert!(e.contains("Z85 alphabet"), "{e}");
        assert_eq!(decode(KEY).unwrap().len(), 32);
    }

    #[test]
    fn client_settings_name_the_bad_key() {
        let mut c = CurveClient::new(KEY);
        assert!(c.validate().is_ok());
        c.public_key = Some(KEY.into());
        assert_eq!(c.validate().unwrap_err().0, "secret_key");
        c.secret_key = Some("short".into());
        assert_eq!(c.validate().unwrap_err().0, "secret_key");
        c.server_key = "x".into();
        assert_eq!(c.validate().unwrap_err().0, "server_key");
    }

    #[test]
    fn debug_hides_secrets() {
        let pair = Keypair::from_z85(KEY, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap();
        let text = format!("{pair:?}");
        assert!(!text.contains("JTKVSB"), "{text}");
        let mut c = CurveClient::new(KEY);
        c.secret_key = Some("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6".into());
        assert!(!format!("{c:?}").contains("JTKVSB"));
    }

    #[test]
    fn generated_keys_need_curve() {
        match Keypair::generate() {
            Ok(pair) => {
                assert!(curve_available());
                assert!(check_z85_key(pair.public()).is_ok());
                assert_eq!(public_of(pair.secret()).unwrap(), pair.public());
            }
            Err(e) => {
                assert!(!curve_available());
                assert!(e.to_string().contains("secure-build.toml"), "{e}");
            }
        }
    }
}
