//! Request bodies of the form posts: `application/x-www-form-urlencoded`, and
//! `multipart/form-data` (RFC 8058 allows either for one-click unsubscribe,
//! and providers send both). Bodies arrive whole and size-capped.

use bytes::Bytes;

/// The fields of one form, in order; the first value of a name wins.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

/// Fields a form may carry at most; more is not a form we sent.
const MAX_FIELDS: usize = 16;

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Parses a query string or an urlencoded body.
    pub fn urlencoded(bytes: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(bytes)
                .take(MAX_FIELDS)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses a body by its Content-Type; None when the type is neither form
    /// encoding or the multipart body is malformed.
    pub async fn from_body(content_type: Option<&str>, body: Bytes) -> Option<Form> {
        let ct = content_type.unwrap_or("").trim();
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            // A body without a type is read as urlencoded: some one-click senders omit it.
            "application/x-www-form-urlencoded" | "" => Some(Form::urlencoded(&body)),
            "multipart/form-data" => multipart(ct, body).await,
            _ => None,
        }
    }
}

async fn multipart(content_type: &str, body: Bytes) -> Option<Form> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = parts.next_field().await.ok()? {
        if fields.len() == MAX_FIELDS {
            break;
        }
        let name = field.name().unwrap_or("").to_string();
        let value = field.text().await.ok()?;
        fields.push((name, value));
    }
    Some(Form(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn urlencoded_and_untyped_bodies() {
        let f = block_on(Form::from_body(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            Bytes::from_static(b"List-Unsubscribe=One%2DClick&x=1"),
        ));
        assert_eq!(f.unwrap().get("List-Unsubscribe"), Some("One-Click"));
        let f = block_on(Form::from_body(
            None,
            Bytes::from_static(b"email=a%40b.c&name=Kim+Minji"),
        ))
        .unwrap();
        assert_eq!((f.get("email"), f.get("name")), (Some("a@b.c"), Some("Kim Minji")));
        assert_eq!(
            block_on(Form::from_body(Some("application/json"), Bytes::from_static(b"{}"))),
            None
        );
        assert_eq!(Form::urlencoded(b"token=abc&token=def").get("token"), Some("abc"));
    }

    #[test]
    fn multipart_bodies() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
        let f = block_on(Form::from_body(
            Some("multipart/form-data; boundary=XyZ"),
            Bytes::from(body),
        ))
        .unwrap();
        assert_eq!(f.get("List-Unsubscribe"), Some("One-Click"));
        let broken = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click";
        assert_eq!(
            block_on(Form::from_body(
                Some("multipart/form-data; boundary=XyZ"),
                Bytes::from(broken)
            )),
            None
        );
        assert_eq!(
            block_on(Form::from_body(Some("multipart/form-data"), Bytes::from(body))),
            None,
            "no boundary"
        );
    }
}
