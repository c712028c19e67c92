//! Built-in texts of the mail in Korean and English, chosen by
//! `[newsletter] language` or, when it is not set, by the language of the
//! issue. `[theme.labels]` overrides single labels by their key. (The pages
//! of `newsletter serve` keep theirs in `serve/texts.rs`.)

/// A language the built-in texts exist in (`[newsletter] language`): the
/// mail, the sign-up and unsubscribe pages, the confirmation mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Ko,
}

impl Language {
    /// `ko` or `en` (also `ko-KR`, `en-US`, any case).
    pub fn parse(s: &str) -> Option<Language> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ko" => Some(Language::Ko),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The BCP 47 code for `lang` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Language::Ko => "ko",
            Language::En => "en",
        }
    }
}

macro_rules! labels {
    ($($key:ident: $ko:expr, $en:expr;)*) => {
        /// Fixed strings of the mail. Each field is also a key of `[theme.labels]`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Labels {
            $(pub $key: String,)*
        }

        /// Every label key, for validating `[theme.labels]`.
        pub const LABEL_KEYS: &[&str] = &[$(stringify!($key),)*];

        /// The built-in labels of `lang`.
        pub fn labels(lang: Language) -> Labels {
            match lang {
                Language::Ko => Labels { $($key: $ko.to_string(),)* },
                Language::En => Labels { $($key: $en.to_string(),)* },
            }
        }

        impl Labels {
            /// Replaces one label; false for an unknown key.
            pub fn set(&mut self, key: &str, value: &str) -> bool {
                match key {
                    $(stringify!($key) => self.$key = value.to_string(),)*
                    _ => return false,
                }
                true
            }
        }
    };
}

labels! {
    contents: "목차", "Contents";
    related: "관련 링크", "Related";
    more_links: "참고 링크", "More links";
    notes: "각주", "Notes";
    view_in_browser: "브라우저에서 보기", "View in browser";
    unsubscribe: "구독 취소", "Unsubscribe";
    unsubscribe_by_mail: "메일로 구독 취소:", "Unsubscribe by email:";
    reply_to_unsubscribe: "구독을 취소하려면 이 메일에 답장해 주세요.", "Reply to this email to unsubscribe.";
    sent_to: "받는 사람:", "Sent to:";
    why_prefix: "", "You get this email because you subscribed to ";
    why_suffix: " 뉴스레터를 구독하셔서 이 메일을 받으셨습니다.", ".";
    image: "이미지", "image";
    task_done: "완료", "done";
    task_open: "할 일", "to do";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_overrides() {
        assert_eq!(Language::parse("ko-KR"), Some(Language::Ko));
        assert_eq!(Language::parse("EN"), Some(Language::En));
        assert_eq!(Language::parse("fr"), None);
        let mut l = labels(Language::Ko);
        assert_eq!(l.contents, "목차");
        assert!(l.set("contents", "이번 호"));
        assert_eq!(l.contents, "이번 호");
        assert!(!l.set("nope", "x"));
        assert!(LABEL_KEYS.contains(&"unsubscribe"));
    }
}
