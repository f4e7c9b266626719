//! Sending one message to one channel: SMTP (lettre), Telegram's `sendMessage`, a Slack incoming
//! webhook, or a signed JSON webhook. `Ok` only when the channel accepted the message; errors
//! say what the channel answered, with every secret scrubbed out.

use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value;
use sha2::Sha256;

use super::message::Alert;
use super::model::{ChannelSpec, Tls, TELEGRAM_API};

/// How long one attempt may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The signature header of generic webhooks: `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "x-vigil-signature";
/// The delivery id header of generic webhooks (the same on every retry, to drop repeats).
pub const DELIVERY_HEADER: &str = "x-vigil-delivery";

/// A failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    /// What happened, for the delivery's status (no secrets).
    pub message: String,
    /// The channel asked to wait this long (Telegram's `retry_after`, `Retry-After`).
    pub retry_after: Option<Duration>,
    /// Trying again cannot help until someone changes something (a 4xx other than 408 and
    /// 429, a redirect, an SMTP 5xx): the delivery fails at once, to be put back by hand.
    pub permanent: bool,
}

impl SendError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retry_after: None,
            permanent: false,
        }
    }
}

/// Whether an HTTP status means the request will never succeed as it is.
fn refused_for_good(status: reqwest::StatusCode) -> bool {
    status.is_redirection()
        || (status.is_client_error()
            && status != reqwest::StatusCode::REQUEST_TIMEOUT
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS)
}

/// How messages reach a channel (see [`super::Alerting::route`]).
#[derive(Clone, Copy)]
pub struct Route<'a> {
    /// The HTTP client.
    pub http: &'a reqwest::Client,
    /// The Bot API's base for Telegram channels that do not name one.
    pub telegram_api_base: Option<&'a str>,
    /// The operator's channel: its errors repeat the start of what the far end answered (a
    /// channel added through the API could point at a host whose answers the server should
    /// not pass on), and a Telegram channel may name its own Bot API address.
    pub operator: bool,
    /// Only public addresses may be reached (a channel that is not the operator's, unless
    /// `allow_private_targets`): a URL read from a variable or file is checked when sending.
    pub guarded: bool,
}

/// Sends `alert` through the channel.
pub async fn send(route: &Route<'_>, spec: &ChannelSpec, alert: &Alert) -> Result<(), SendError> {
    let http = route.http;
    let result = match spec {
        ChannelSpec::Email { .. } => email(spec, alert, route.operator).await,
        ChannelSpec::Telegram {
            bot_token,
            chat_id,
            thread_id,
            api_base,
        } => {
            let token = bot_token.resolve("bot_token").map_err(SendError::new)?;
            let own = api_base.as_deref().filter(|_| route.operator);
            let base = own.or(route.telegram_api_base).unwrap_or(TELEGRAM_API);
            let url = format!("{}/bot{token}/sendMessage", base.trim_end_matches('/'));
            let mut body = serde_json::json!({
                "chat_id": chat_id.0,
                "text": alert.telegram(),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": true},
            });
            if let Some(thread) = thread_id {
                body["message_thread_id"] = (*thread).into();
            }
            telegram(http, &url, &body).await
        }
        ChannelSpec::Slack { webhook_url } => {
            let url = webhook_url.resolve("webhook_url").map_err(SendError::new)?;
            if route.guarded {
                // Read from a variable or file, it was not checked when the channel was added.
                if let Some(host) = reqwest::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                {
                    super::targets::check_public("webhook_url", &host)
                        .await
                        .map_err(|e| SendError::new(e.to_string()))?;
                }
            }
            let response = http
                .post(&url)
                .json(&alert.slack())
                .send()
                .await
                .map_err(http_error)?;
            accepted("Slack", response, route.operator).await
        }
        ChannelSpec::Webhook { url, secret } => {
            let key = secret.resolve("secret").map_err(SendError::new)?;
            let body = serde_json::to_vec(&alert.webhook()).expect("JSON serializes");
            let response = http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature(key.as_bytes(), &body))
                .header(DELIVERY_HEADER, alert.delivery.to_string())
                .body(body)
                .send()
                .await
                .map_err(http_error)?;
            accepted("the webhook", response, route.operator).await
        }
    };
    result.map_err(|mut e| {
        for secret in spec.secret_values() {
            e.message = e.message.replace(&secret, "[redacted]");
        }
        e
    })
}

/// `sha256=<hex>` of the body under the key.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A transport error, without the URL (Telegram's has the bot token in it).
fn http_error(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(&e);
    let mut cause = String::new();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        SendError::new(what.to_string())
    } else {
        SendError::new(format!("{what}: {cause}"))
    }
}

fn retry_after_header(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// 2xx is accepted; otherwise the status and (when `echo`) the start of the body.
async fn accepted(who: &str, response: reqwest::Response, echo: bool) -> Result<(), SendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after_header(&response);
    let message = if echo {
        let body = response.text().await.unwrap_or_default();
        let body: String = body.trim().chars().take(300).collect();
        format!("{who} answered {status}: {body}")
    } else {
        format!("{who} answered {status}")
    };
    Err(SendError {
        message,
        retry_after,
        permanent: refused_for_good(status),
    })
}

/// Telegram answers `{"ok": true, …}` or `{"ok": false, "error_code", "description",
/// "parameters": {"retry_after"}}`.
async fn telegram(http: &reqwest::Client, url: &str, body: &Value) -> Result<(), SendError> {
    let response = http.post(url).json(body).send().await.map_err(http_error)?;
    let status = response.status();
    let header_wait = retry_after_header(&response);
    let text = response.text().await.map_err(http_error)?;
    let answer: Value = serde_json::from_str(&text)
        .map(|vigil_core::json::Plain(v)| v)
        .map_err(|_| {
            SendError::new(format!(
                "Telegram answered {status} with something that is not the Bot API's JSON: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
    if answer["ok"] == Value::Bool(true) && status.is_success() {
        return Ok(());
    }
    let retry_after = answer["parameters"]["retry_after"]
        .as_u64()
        .map(Duration::from_secs)
        .or(header_wait);
    let code = answer["error_code"]
        .as_u64()
        .and_then(|c| reqwest::StatusCode::from_u16(c as u16).ok())
        .unwrap_or(status);
    Err(SendError {
        message: format!(
            "Telegram answered {}: {}",
            code.as_u16(),
            answer["description"].as_str().unwrap_or("no description")
        ),
        retry_after,
        permanent: refused_for_good(code),
    })
}

async fn email(spec: &ChannelSpec, alert: &Alert, echo: bool) -> Result<(), SendError> {
    let ChannelSpec::Email {
        host,
        port,
        tls,
        username,
        password,
        from,
        to,
    } = spec
    else {
        unreachable!("email() is called for email channels");
    };
    let from: Mailbox = from
        .parse()
        .map_err(|e| SendError::new(format!("from: {e}")))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(alert.headline())
        .message_id(Some(format!(
            "<vigil.delivery.{}.{}@vigil>",
            alert.delivery,
            alert
                .entries
                .first()
                .map(|e| e.event.id.to_string())
                .or_else(|| alert
                    .checkpoint
                    .as_ref()
                    .map(|c| format!("checkpoint.{}", c.size)))
                .unwrap_or_else(|| "test".into())
        )));
    for address in to {
        builder = builder.to(address
            .parse()
            .map_err(|e| SendError::new(format!("to {address:?}: {e}")))?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            alert.text(),
            alert.html(),
        ))
        .map_err(|e| SendError::new(format!("building the email: {e}")))?;
    let transport = match tls {
        Tls::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port.unwrap_or(25))
        }
        Tls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| SendError::new(format!("SMTP server {host}: {e}")))?
            .port(port.unwrap_or(587)),
        Tls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| SendError::new(format!("SMTP server {host}: {e}")))?
            .port(port.unwrap_or(465)),
    };
    let mut transport = transport.timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (username, password) {
        let password = password.resolve("password").map_err(SendError::new)?;
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    transport
        .build()
        .send(message)
        .await
        .map(drop)
        .map_err(|e| SendError {
            // What an SMTP server said is passed on only from the operator's channels.
            message: if echo {
                format!("SMTP server {host}: {e}")
            } else if e.is_permanent() {
                format!("SMTP server {host} refused the message")
            } else {
                format!("SMTP server {host} could not take the message now")
            },
            retry_after: None,
            permanent: e.is_permanent(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
