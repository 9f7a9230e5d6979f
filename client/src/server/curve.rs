//! [`CurveServer`]: a server's CURVE secret key and the client keys it
//! admits.

use std::collections::HashSet;
use std::fmt;

use crate::curve::{self, require_curve};

use super::{zap, ServerError};

/// CURVE for a server socket: encrypts every connection with `secret_key`
/// and admits only clients whose public key is in `allow` (checked by the
/// ZAP handler, [RFC 27](https://rfc.zeromq.org/spec/27/)). `Debug` never
/// shows the secret key.
///
/// # Examples
///
/// ```
/// use plug::server::{CurveServer, SocketOptions};
/// let options = SocketOptions {
///     curve: Some(
///         CurveServer::new("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")
///             .allow("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"),
///     ),
///     ..SocketOptions::default()
/// };
/// assert!(options.curve.unwrap().check().is_ok());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CurveServer {
    /// The server's secret key, Z85. Clients are given its public key.
    pub secret_key: String,
    /// Client public keys admitted, Z85. Everyone else is refused (and
    /// logged); an empty list refuses everyone.
    pub allow: Vec<String>,
}

impl CurveServer {
    /// CURVE with this secret key, admitting nobody yet.
    pub fn new(secret_key: impl Into<String>) -> CurveServer {
        CurveServer {
            secret_key: secret_key.into(),
            allow: Vec::new(),
        }
    }

    /// Admits the client with this public key.
    pub fn allow(mut self, public_key: impl Into<String>) -> CurveServer {
        self.allow.push(public_key.into());
        self
    }

    /// Checks every key; the error names the bad one (by position for the
    /// allow-list) without repeating a secret.
    pub fn check(&self) -> Result<(), ServerError> {
        curve::check_z85_key(&self.secret_key)
            .map_err(|m| ServerError::Curve(format!("secret key: {m}")))?;
        for (i, key) in self.allow.iter().enumerate() {
            curve::check_z85_key(key).map_err(|m| {
                ServerError::Curve(format!("allowed client key {} (`{key}`): {m}", i + 1))
            })?;
        }
        Ok(())
    }

    /// The public key that goes with the secret key: what clients configure
    /// as `server_key`.
    pub fn public_key(&self) -> Result<String, ServerError> {
        curve::public_of(&self.secret_key).map_err(ServerError::Curve)
    }

    /// Makes `sock` a CURVE server whose clients the ZAP handler of `ctx`
    /// checks against the allow-list.
    pub(crate) fn apply(&self, ctx: &zmq::Context, sock: &zmq::Socket) -> Result<(), ServerError> {
        require_curve()?;
        self.check()?;
        let decode = |k: &str| curve::decode(k).map(Vec::from).map_err(ServerError::Curve);
        let allow: HashSet<Vec<u8>> = self
            .allow
            .iter()
            .map(|k| decode(k))
            .collect::<Result<_, _>>()?;
        if allow.is_empty() {
            tracing::warn!("CURVE server with an empty allow-list: every client will be refused");
        }
        let secret = decode(&self.secret_key)?;
        let zmq_err = |e: zmq::Error| ServerError::Curve(format!("libzmq: {e}"));
        let domain = zap::register(ctx, allow).map_err(zmq_err)?;
        sock.set_zap_domain(&domain).map_err(zmq_err)?;
        sock.set_curve_server(true).map_err(zmq_err)?;
        sock.set_curve_secretkey(&secret).map_err(zmq_err)?;
        Ok(())
    }
}

impl fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveServer")
            .field("secret_key", &"<redacted>")
            .field("allow", &self.allow)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    #[test]
    fn keys_are_checked_and_the_secret_stays_hidden() {
        let c = CurveServer::new(SECRET).allow("too short");
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("allowed client key 1"), "{e}");
        let e = CurveServer::new("x").check().unwrap_err().to_string();
        assert!(e.contains("secret key"), "{e}");
        assert!(!format!("{c:?}").contains("JTKVSB"));
    }
}
