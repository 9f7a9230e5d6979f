//! CURVE keys: [`Keypair`], Z85 checks, and whether this libzmq can encrypt.
//!
//! Keys travel as Z85 text (40 characters for 32 bytes, ZeroMQ RFC 32), as in
//! every ZeroMQ binding. Making and deriving keys is pure Rust (Curve25519 from
//! `x25519-dalek`, Z85 from `z85`), so it works in every build. Encrypting
//! needs libzmq: the default build of this kit compiles libzmq without
//! libsodium, so it has no CURVE; [`require_curve`] turns a request for CURVE
//! into [`CurveUnavailable`] instead of a silent plain-text connection.

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
pub(crate) fn decode(key: &str) -> Result<[u8; 32], String> {
    check_z85_key(key)?;
    let bytes = z85::decode(key).map_err(|e| e.to_string())?;
    bytes
        .try_into()
        .map_err(|_| "a 40-character Z85 key is 32 bytes".to_owned())
}

/// 32 bytes as a Z85 key (40 characters).
fn encode(bytes: &[u8; 32]) -> String {
    z85::encode(bytes)
}

/// The public key that belongs to a secret key, both in Z85 text: the
/// Curve25519 base-point multiple, as libzmq's `zmq_curve_public` computes it.
pub(crate) fn public_of(secret: &str) -> Result<String, String> {
    let secret = x25519_dalek::StaticSecret::from(decode(secret)?);
    Ok(encode(x25519_dalek::PublicKey::from(&secret).as_bytes()))
}

/// A CURVE key pair in Z85 text. `Debug` never shows the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct Keypair {
    public: String,
    secret: String,
}

impl Keypair {
    /// A new random key pair, as `zmq_curve_keypair` makes them: 32 random
    /// bytes from the operating system for the secret key, its Curve25519
    /// public key. Pure Rust: works in every build, with or without CURVE in
    /// libzmq.
    ///
    /// # Panics
    ///
    /// When the operating system's random source fails, as `rand`'s `OsRng`
    /// does.
    ///
    /// # Examples
    ///
    /// ```
    /// let pair = plug::Keypair::random();
    /// assert_eq!(pair.public().len(), 40);
    /// assert_eq!(plug::Keypair::from_secret(pair.secret()).unwrap(), pair);
    /// ```
    pub fn random() -> Keypair {
        let secret = x25519_dalek::StaticSecret::random();
        Keypair {
            public: encode(x25519_dalek::PublicKey::from(&secret).as_bytes()),
            secret: encode(&secret.to_bytes()),
        }
    }

    /// [`Keypair::random`], in a `Result` for callers written when making a
    /// key pair needed CURVE in libzmq. It no longer does: always `Ok`.
    pub fn generate() -> Result<Keypair, CurveUnavailable> {
        Ok(Keypair::random())
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

    /// The key pair of a secret key (its public key is derived, in pure
    /// Rust). The error names the config key `secret_key`.
    pub fn from_secret(secret: &str) -> Result<Keypair, crate::Error> {
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
            _ => Keypair::random(),
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

fn key_bytes(checked: &str) -> [u8; 32] {
    decode(checked).expect("a checked key decodes")
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

    /// ZeroMQ RFC 32's test vector.
    #[test]
    fn z85_matches_rfc_32() {
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(z85::encode(bytes), "HelloWorld");
        assert_eq!(z85::decode("HelloWorld").unwrap(), bytes);
        let key: [u8; 32] = std::array::from_fn(|i| (i * 7) as u8);
        assert_eq!(decode(&encode(&key)).unwrap(), key);
    }

    /// The server key pair of libzmq's `zmq_curve` manual page.
    #[test]
    fn public_keys_are_derived_as_libzmq_does() {
        assert_eq!(
            public_of("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap(),
            KEY
        );
        assert_eq!(
            public_of("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs").unwrap(),
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        );
        assert!(public_of("short").is_err());
    }

    #[test]
    fn random_pairs_work_in_every_build() {
        let pair = Keypair::random();
        assert!(check_z85_key(pair.public()).is_ok());
        assert!(check_z85_key(pair.secret()).is_ok());
        assert_eq!(public_of(pair.secret()).unwrap(), pair.public());
        assert_ne!(Keypair::random(), pair);
        assert_eq!(Keypair::generate().unwrap().public().len(), Z85_KEY_LEN);
    }
}
