//! Tests of the DKIM signer: the same signature as lettre's signer at the
//! same second, the RFC 6376 canonicalization rules, both PEM forms, and
//! bytes that depend only on the inputs.

use super::*;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message, MultiPart, SinglePart};
use std::time::Duration;

fn pem() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/fixtures/dkim/test-key.pem"
    );
    std::fs::read_to_string(path).expect("the test DKIM key")
}

fn key() -> DkimKey {
    DkimKey::from_pem(&pem(), "example.com", "weekly").expect("the test key loads")
}

fn lettre_config() -> DkimConfig {
    let key = DkimSigningKey::new(&pem(), DkimSigningAlgorithm::Rsa).expect("lettre loads the test key");
    DkimConfig::new(
        "weekly".into(),
        "example.com".into(),
        key,
        SIGNED_HEADERS.into_iter().map(HeaderName::new_from_ascii_str).collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    )
}

fn message(name: &str, subject: &str, text: &str) -> Message {
    let to: Mailbox = format!("{name} <reader@example.org>")
        .parse()
        .unwrap_or_else(|_| Mailbox::new(Some(name.to_string()), "reader@example.org".parse().unwrap()));
    Message::builder()
        .from("Field Notes <weekly@example.com>".parse().unwrap())
        .to(to)
        .subject(subject)
        .date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000))
        .message_id(Some("<w47.abc@example.com>".into()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Id"),
            "Field Notes <weekly.example.com>".into(),
        ))
        .multipart(
            MultiPart::alternative()
                .boundary("fixed-boundary-for-the-test")
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text.to_string()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(format!("<p>{text}</p>")),
                ),
        )
        .expect("the test message builds")
}

fn t_of(signature: &str) -> u64 {
    let at = signature.find(" t=").expect("a t= tag") + 3;
    let end = signature[at..].find(';').expect("t= ends with ;") + at;
    signature[at..end].parse().expect("t= is a number")
}

#[test]
fn signs_as_lettre_does_at_the_same_second() {
    let long = "word ".repeat(300);
    let cases = [
        ("Reader One", "Weekly 47", "Hello  there,\t\tworld \r\n\r\n\r\n"),
        (
            "Dr. Ünïcode, \"Q\"",
            "주간 뉴스레터 47호: 다섯 편의 글",
            "한국어 본문\r\n",
        ),
        ("A", long.as_str(), long.as_str()),
        (
            "",
            "Trailing space ",
            " lines with trailing spaces   \r\nand\ttabs\t\r\n",
        ),
    ];
    for (name, subject, text) in cases {
        let unsigned = message(name, subject, text);
        let mut by_lettre = unsigned.clone();
        by_lettre.sign(&lettre_config());
        let theirs = by_lettre
            .headers()
            .get_raw("DKIM-Signature")
            .expect("lettre signed")
            .to_string();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(t_of(&theirs));
        let mut ours = unsigned;
        key().sign_message(&mut ours, at);
        assert_eq!(
            ours.headers().get_raw("DKIM-Signature"),
            Some(theirs.as_str()),
            "{subject}"
        );
        assert_eq!(ours.formatted(), by_lettre.formatted(), "{subject}");
    }
}

#[test]
fn the_signing_time_is_the_one_passed_in() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let sign = || {
        let mut m = message("Reader", "Weekly", "Body\r\n");
        key().sign_message(&mut m, at);
        String::from_utf8(m.formatted()).expect("ASCII message")
    };
    let first = sign();
    assert_eq!(first, sign(), "the same inputs give the same bytes");
    assert!(first.contains(" t=1790000000;"), "{first}");
    // A time before 1970 cannot be written as t=; it signs as 0 instead of panicking.
    let before = key().signature_value(
        b"From: a@example.com\r\n",
        b"x\r\n",
        SystemTime::UNIX_EPOCH - Duration::from_secs(5),
    );
    assert!(before.contains(" t=0;"), "{}", before);
}

#[test]
fn relaxed_body_rules() {
    let hash = |b: &[u8]| base64(&body_hash(b));
    // RFC 6376 3.4.6's example: " C \r\nD \t E\r\n\r\n\r\n" becomes " C\r\nD E\r\n".
    assert_eq!(
        hash(b" C \r\nD \t E\r\n\r\n\r\n"),
        base64(&Sha256::digest(b" C\r\nD E\r\n"))
    );
    // No final CRLF: one is added. Lines of only spaces are empty lines.
    assert_eq!(
        hash(b"a\r\n  \r\n\t\r\nb"),
        base64(&Sha256::digest(b"a\r\n\r\n\r\nb\r\n"))
    );
    assert_eq!(hash(b"a\r\n \t \r\n"), base64(&Sha256::digest(b"a\r\n")));
    // An empty body (or one of blank lines only) hashes as nothing (errata 3192).
    let empty = base64(&Sha256::digest(b""));
    assert_eq!(hash(b""), empty);
    assert_eq!(hash(b"\r\n\r\n \r\n"), empty);
}

#[test]
fn relaxed_header_rules() {
    assert_eq!(
        relaxed_header("Subject", b"  Hello \t  world \r\n\tagain  \r\n"),
        "subject:Hello world again\r\n"
    );
    assert_eq!(relaxed_header("To", b"\r\n"), "to:\r\n");
    let head = b"From: a@example.com\r\nSubject: one\r\n two\r\nsubject : last\r\n";
    let f = fields(head);
    let names: Vec<&[u8]> = f.iter().map(|f| f.name).collect();
    assert_eq!(names, [&b"From"[..], b"Subject", b"subject"]);
    assert_eq!(f[1].value, b" one\r\n two\r\n");
}

#[test]
fn both_pem_forms_load_and_sign_alike() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let pkcs8 = private_key(&pem()).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
    assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
    let other = DkimKey::from_pem(&pkcs8, "example.com", "weekly").expect("PKCS#8 loads");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let head = b"From: a@example.com\r\nTo: b@example.org\r\n";
    assert_eq!(
        other.signature_value(head, b"hi\r\n", at),
        key().signature_value(head, b"hi\r\n", at)
    );
    assert_eq!(public_key(&pkcs8), public_key(&pem()));
}

#[test]
fn a_bad_key_says_what_it_expected() {
    let err = DkimKey::from_pem("not a key", "example.com", "weekly").unwrap_err();
    assert!(
        err.starts_with("not an RSA private key in PEM (PKCS#1 or PKCS#8): "),
        "{err}"
    );
    assert_eq!(format!("{:?}", key()), "DkimKey(weekly._domainkey.example.com)");
}
