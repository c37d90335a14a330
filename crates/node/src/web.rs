//! The explorer's static files, served by the API's own HTTP server (one origin for the pages,
//! their JSON-RPC calls and their WebSocket): a plain `GET` that is not a WebSocket upgrade is
//! answered from the configured directory (`explorer_dir`, the output of
//! `npm run build:explorer`); everything else goes on to JSON-RPC.

use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The layer: static files from `dir`, or a 404 that says the explorer is not served here.
#[derive(Clone, Debug, Default)]
pub struct StaticFiles {
    dir: Option<Arc<PathBuf>>,
}

impl StaticFiles {
    /// Files from `dir` (none: every page request is a 404 that says so).
    pub fn new(dir: Option<PathBuf>) -> StaticFiles {
        StaticFiles {
            dir: dir.map(Arc::new),
        }
    }
}

impl<S> tower::Layer<S> for StaticFiles {
    type Service = StaticService<S>;

    fn layer(&self, inner: S) -> StaticService<S> {
        StaticService {
            inner,
            dir: self.dir.clone(),
        }
    }
}

/// The service [`StaticFiles`] wraps around the JSON-RPC server.
#[derive(Clone, Debug)]
pub struct StaticService<S> {
    inner: S,
    dir: Option<Arc<PathBuf>>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> tower::Service<HttpRequest<B>> for StaticService<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<HttpResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: HttpRequest<B>) -> Self::Future {
        let upgrade = req.headers().contains_key(http::header::UPGRADE);
        if req.method() == http::Method::GET && !upgrade && req.uri().path() == "/health" {
            // The load balancer's check: this process answers (the database is checked by
            // the requests themselves; a failover must not take every replica out at once).
            return Box::pin(async { Ok(text(http::StatusCode::OK, "ok\n")) });
        }
        if req.method() == http::Method::GET && !upgrade {
            let dir = self.dir.clone();
            let path = req.uri().path().to_string();
            return Box::pin(async move { Ok(serve(dir.as_deref().map(|d| &**d), &path).await) });
        }
        let fut = self.inner.call(req.map(HttpBody::new));
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

/// The file a request path names inside the directory: `/` is `index.html`; only plain names
/// (letters, digits, `.`, `-`, `_`, no segment starting with a dot) in subdirectories, so
/// nothing outside the directory is reachable.
pub fn file_for(path: &str) -> Option<PathBuf> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return Some(PathBuf::from("index.html"));
    }
    let mut out = PathBuf::new();
    for seg in rel.split('/') {
        let plain = !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !plain {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn text(status: http::StatusCode, body: &'static str) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(HttpBody::from(body))
        .expect("a valid response")
}

async fn serve(dir: Option<&Path>, path: &str) -> HttpResponse {
    let Some(dir) = dir else {
        return text(
            http::StatusCode::NOT_FOUND,
            "this node does not serve the explorer (set explorer_dir in its configuration); \
             JSON-RPC is POST /\n",
        );
    };
    let Some(rel) = file_for(path) else {
        return text(http::StatusCode::NOT_FOUND, "not found\n");
    };
    let file = dir.join(&rel);
    match tokio::fs::read(&file).await {
        Ok(bytes) => http::Response::builder()
            .header(http::header::CONTENT_TYPE, content_type(&file))
            // The pages change with each build and are small: always revalidate.
            .header(http::header::CACHE_CONTROL, "no-cache")
            .header("x-content-type-options", "nosniff")
            .header(
                "content-security-policy",
                "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
                 style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            )
            .body(HttpBody::from(bytes))
            .expect("a valid response"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            text(http::StatusCode::NOT_FOUND, "not found\n")
        }
        Err(e) => {
            tracing::error!(file = %file.display(), error = %e, "explorer file");
            text(http::StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::file_for;
    use std::path::PathBuf;

    #[test]
    fn only_plain_names_inside_the_directory() {
        assert_eq!(file_for("/"), Some(PathBuf::from("index.html")));
        assert_eq!(file_for("/main.js"), Some(PathBuf::from("main.js")));
        assert_eq!(
            file_for("/assets/a-b_c.css"),
            Some(PathBuf::from("assets/a-b_c.css"))
        );
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/.env",
            "/a//b",
            "/a%2e%2e",
            "/a\\b",
            "/x/",
        ] {
            assert_eq!(file_for(bad), None, "{bad}");
        }
    }
}
