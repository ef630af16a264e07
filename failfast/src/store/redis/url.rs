//! The Redis URL: parsed once, and shown only with its password hidden.

use std::fmt;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

use super::error::RedisStoreError;

/// Where the store connects, and how to show it without its credentials.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) info: ConnectionInfo,
    redacted: String,
}

impl Target {
    /// Parses `url`. The error never repeats the URL, which may hold a password.
    pub(super) fn parse(url: &str) -> Result<Target, RedisStoreError> {
        // The URL crate's errors name the part at fault, never the text.
        let parsed = url::Url::parse(url).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => {
                RedisStoreError::url("no scheme: write redis://host:port")
            }
            e => RedisStoreError::url(e.to_string()),
        })?;
        match parsed.scheme() {
            "redis" | "valkey" | "redis+unix" | "valkey+unix" | "unix" => {}
            "rediss" | "valkeys" => {
                return Err(RedisStoreError::url(
                    "TLS (rediss://) is not supported yet: reach Redis through a TLS tunnel",
                ));
            }
            other => {
                let scheme: String = other.chars().take(16).collect();
                return Err(RedisStoreError::url(format!(
                    "the scheme is `{scheme}`, not redis"
                )));
            }
        }
        let info = parsed
            .into_connection_info()
            .map_err(|e| RedisStoreError::url(e.to_string()))?;
        let redacted = redact(&info);
        Ok(Target { info, redacted })
    }
}

/// The URL with the password, if any, replaced by `***`.
fn redact(info: &ConnectionInfo) -> String {
    let settings = info.redis_settings();
    let password = settings.password().is_some();
    let user = match (settings.username(), password) {
        (Some(user), true) => format!("{user}:***@"),
        // A user with no password may be a password whose colon was forgotten.
        (Some(_), false) => "***@".to_owned(),
        (None, true) => ":***@".to_owned(),
        (None, false) => String::new(),
    };
    let db = settings.db();
    let host = |host: &str| {
        if host.contains(':') {
            format!("[{host}]") // IPv6
        } else {
            host.to_owned()
        }
    };
    match info.addr() {
        ConnectionAddr::Tcp(h, port) => format!("redis://{user}{}:{port}/{db}", host(h)),
        ConnectionAddr::TcpTls { host: h, port, .. } => {
            format!("rediss://{user}{}:{port}/{db}", host(h))
        }
        ConnectionAddr::Unix(path) => {
            let pass = if password { "&pass=***" } else { "" };
            format!("redis+unix://{}?db={db}{pass}", path.display())
        }
        other => format!("{other} (db {db})"),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(url: &str) -> String {
        Target::parse(url).unwrap().to_string()
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            shown("redis://app:s3cret@cache.internal:6380/2"),
            "redis://app:***@cache.internal:6380/2"
        );
        assert_eq!(
            shown("redis://:s3cret@10.0.0.1"),
            "redis://:***@10.0.0.1:6379/0"
        );
        assert_eq!(shown("redis://[::1]:7000"), "redis://[::1]:7000/0");
        assert_eq!(
            shown("redis+unix:///run/redis.sock?pass=s3cret"),
            "redis+unix:///run/redis.sock?db=0&pass=***"
        );
        let debug = format!("{:?}", Target::parse("redis://u:s3cret@h").unwrap());
        assert!(!debug.contains("s3cret"), "{debug}");
        assert_eq!(
            shown("redis://s3cret@h"),
            "redis://***@h:6379/0",
            "a forgotten colon"
        );
    }

    #[test]
    fn a_malformed_url_is_an_error_that_does_not_repeat_it() {
        for url in [
            "http://u:s3cret@host",
            "redis://u:s3cret@host:notaport",
            "redis://u:s3cret@host/notadb",
            "s3cret",
            "",
        ] {
            let err = Target::parse(url).expect_err(url).to_string();
            assert!(!err.contains("s3cret"), "{url}: {err}");
            assert!(err.contains("Redis URL"), "{url}: {err}");
        }
    }

    #[test]
    fn a_malformed_url_says_what_is_wrong() {
        let reason = |url: &str| Target::parse(url).expect_err(url).to_string();
        assert!(
            reason("http://h").contains("the scheme is `http`"),
            "{}",
            reason("http://h")
        );
        assert!(
            reason("rediss://h").contains("TLS"),
            "{}",
            reason("rediss://h")
        );
        assert!(
            reason("redis://h:99999").contains("invalid port"),
            "{}",
            reason("redis://h:99999")
        );
        assert!(
            reason("127.0.0.1:6379").contains("scheme"),
            "{}",
            reason("127.0.0.1:6379")
        );
    }
}
