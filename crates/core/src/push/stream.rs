//! One `POST /images/{name}/push` to the engine, read message by message.
//!
//! The engine says which layer each progress message is about, but the
//! client library's push type drops that field; on a local socket or plain
//! TCP the request is made here so that per-layer progress survives. Over
//! TLS the client library's stream is used, and messages carry no layer.

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use serde::Deserialize;

use crate::engine::{Engine, EngineError};

/// One message of the engine's push stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(super) struct Message {
    /// The layer (a short digest), when the message is about one.
    #[serde(default)]
    pub id: Option<String>,
    /// "Preparing", "Pushing", "Pushed", "latest: digest: sha256:… size: 528", …
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "progressDetail")]
    pub progress: Option<Progress>,
    /// Set when the push failed.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, rename = "errorDetail")]
    pub error_detail: Option<ErrorDetail>,
}

impl Message {
    /// The failure this message reports, if any.
    pub fn failure(&self) -> Option<&str> {
        self.error_detail
            .as_ref()
            .and_then(|d| d.message.as_deref())
            .or(self.error.as_deref())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub(super) struct Progress {
    #[serde(default)]
    pub current: Option<u64>,
    #[serde(default)]
    pub total: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(super) struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
}

/// Pushes `repository:tag` with `login` (empty: none), handing each
/// message to `each`.
pub(super) async fn push(
    engine: &Engine,
    repository: &str,
    tag: &str,
    login: &bollard::auth::DockerCredentials,
    each: &mut (dyn FnMut(Message) + Send),
) -> Result<(), EngineError> {
    let endpoint = engine.endpoint();
    let plain = endpoint.tls.is_none();
    if let (true, Some(path)) = (plain, endpoint.host.strip_prefix("unix://")) {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| unreachable(&endpoint.host, &e))?;
        return raw(
            stream,
            &endpoint.host,
            "docker",
            repository,
            tag,
            login,
            each,
        )
        .await;
    }
    let tcp = ["tcp://", "http://"]
        .iter()
        .find_map(|scheme| endpoint.host.strip_prefix(scheme));
    if let (true, Some(address)) = (plain, tcp) {
        let address = address.trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| unreachable(&endpoint.host, &e))?;
        return raw(
            stream,
            &endpoint.host,
            address,
            repository,
            tag,
            login,
            each,
        )
        .await;
    }
    library(engine, repository, tag, login, each).await
}

fn unreachable(endpoint: &str, error: &std::io::Error) -> EngineError {
    EngineError::Unreachable {
        endpoint: endpoint.to_string(),
        reason: error.to_string(),
    }
}

/// The push over an open connection, with hyper.
async fn raw<S>(
    stream: S,
    endpoint: &str,
    host: &str,
    repository: &str,
    tag: &str,
    login: &bollard::auth::DockerCredentials,
    each: &mut (dyn FnMut(Message) + Send),
) -> Result<(), EngineError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| EngineError::Unreachable {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            })?;
    let driver = tokio::spawn(connection);
    let uri = format!("/images/{}/push?tag={}", repository, url_escape(tag));
    let request = http::Request::post(uri)
        .header(http::header::HOST, host)
        .header("X-Registry-Auth", auth_header(login))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| EngineError::Client(e.to_string()))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| EngineError::Client(e.to_string()))?;
        let status = response.status();
        let mut body = response.into_body();
        if !status.is_success() {
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            return Err(EngineError::Api {
                status: status.as_u16(),
                message: engine_message(&bytes),
            });
        }
        let mut pending = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| EngineError::Client(e.to_string()))?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            pending.extend_from_slice(data);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                deliver(&line, each);
            }
        }
        deliver(&pending, each);
        Ok(())
    }
    .await;
    driver.abort();
    result
}

fn deliver(line: &[u8], each: &mut (dyn FnMut(Message) + Send)) {
    let line = line.trim_ascii();
    if line.is_empty() {
        return;
    }
    match serde_json::from_slice::<Message>(line) {
        Ok(message) => each(message),
        Err(e) => tracing::debug!("push: unreadable engine message ({e})"),
    }
}

/// The `message` of an engine error body, else the body itself.
fn engine_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        message: String,
    }
    serde_json::from_slice::<Body>(body)
        .map(|b| b.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string())
}

/// A tag in a query string: tags are `[A-Za-z0-9_.-]`, so only a stray
/// character needs escaping.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The `X-Registry-Auth` value: base64url of the login's set fields.
pub(super) fn auth_header(login: &bollard::auth::DockerCredentials) -> String {
    use base64::Engine as _;
    let fields = [
        ("username", &login.username),
        ("password", &login.password),
        ("serveraddress", &login.serveraddress),
    ];
    let json: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), serde_json::Value::from(v.clone()?))))
        .collect();
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::Value::Object(json).to_string())
}

/// The push through the client library, for endpoints reached over TLS.
async fn library(
    engine: &Engine,
    repository: &str,
    tag: &str,
    login: &bollard::auth::DockerCredentials,
    each: &mut (dyn FnMut(Message) + Send),
) -> Result<(), EngineError> {
    let options = bollard::query_parameters::PushImageOptionsBuilder::default()
        .tag(tag)
        .build();
    let mut stream = engine
        .docker()
        .push_image(repository, Some(options), Some(login.clone()));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => each(Message {
                id: None,
                status: info.status,
                progress: info.progress_detail.map(|p| Progress {
                    current: p.current.and_then(|c| u64::try_from(c).ok()),
                    total: p.total.and_then(|t| u64::try_from(t).ok()),
                }),
                error: None,
                error_detail: None,
            }),
            Err(bollard::errors::Error::DockerStreamError { error }) => each(Message {
                error: Some(error),
                ..Message::default()
            }),
            Err(e) => return Err(engine.error(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Message, deliver, engine_message, url_escape};

    #[test]
    fn engine_messages_keep_their_layer() {
        let mut seen = Vec::new();
        deliver(
            br#"{"status":"Pushing","progressDetail":{"current":512,"total":2048},"progress":"[=>  ]","id":"5f70bf18a086"}"#,
            &mut |m: Message| seen.push(m),
        );
        deliver(b"  \n", &mut |m: Message| seen.push(m));
        deliver(
            br#"{"errorDetail":{"message":"denied: no"},"error":"denied: no"}"#,
            &mut |m: Message| seen.push(m),
        );
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].id.as_deref(), Some("5f70bf18a086"));
        assert_eq!(seen[0].progress.and_then(|p| p.total), Some(2048));
        assert_eq!(seen[1].failure(), Some("denied: no"));
        assert_eq!(
            engine_message(br#"{"message":"No such image: x"}"#),
            "No such image: x"
        );
        assert_eq!(url_escape("v1.2_x-y"), "v1.2_x-y");
        assert_eq!(url_escape("a b"), "a%20b");
    }
}
