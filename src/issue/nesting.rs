//! The nesting limit: markdown may put lists, block quotes, emphasis and
//! links inside each other without bound (`> > > …`, `- - - …`, `*a *a *a …`),
//! and the model, its renderers and their `Drop`s are trees walked by
//! recursion. One linear pass over pulldown-cmark's events, before the body
//! is folded into the model, refuses anything deeper than [`MAX_LEVELS`], so
//! every later recursion is bounded by construction. pulldown-cmark itself
//! keeps its own stack on the heap, so this pass is safe on any input.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// How deep lists, block quotes, emphasis and links may nest in one another.
/// Real issues stay under ten; the renderers' recursion is a few frames per level.
pub const MAX_LEVELS: usize = 32;

/// Too deep: where the level past the limit opens (byte offset in the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    pub offset: usize,
}

/// Checks `body` (markdown, parsed with `options`) against [`MAX_LEVELS`].
pub fn check(body: &str, options: Options) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        match event {
            Event::Start(tag) if nests(&tag) => {
                depth += 1;
                if depth > MAX_LEVELS {
                    return Err(TooDeep { offset: range.start });
                }
            }
            Event::End(end) if ends_nesting(end) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The hint that goes with [`message`].
pub const HINT: &str =
    "flatten the structure: fewer lists inside lists, quotes inside quotes or emphasis inside emphasis";

/// The message for a [`TooDeep`].
pub fn message() -> String {
    format!(
        "markdown nested more than {MAX_LEVELS} levels deep (lists, block quotes, emphasis and links inside one another)"
    )
}

fn nests(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::List(_)
            | Tag::BlockQuote(_)
            | Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

fn ends_nesting(end: TagEnd) -> bool {
    matches!(
        end,
        TagEnd::List(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Link
            | TagEnd::Image
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deepest_ok(unit: &str, tail: &str) -> String {
        format!("{}{tail}", unit.repeat(MAX_LEVELS))
    }

    #[test]
    fn the_limit_is_exact_for_every_kind_of_nesting() {
        let o = Options::ENABLE_STRIKETHROUGH;
        for (unit, tail) in [("> ", "x\n"), ("- ", "x\n"), ("1. ", "x\n")] {
            assert_eq!(check(&deepest_ok(unit, tail), o), Ok(()), "{unit:?}");
            let too_deep = format!("{unit}{}", deepest_ok(unit, tail));
            let offset = check(&too_deep, o).unwrap_err().offset;
            assert_eq!(offset, unit.len() * MAX_LEVELS, "{unit:?}");
        }
        let emph = |n: usize| format!("{}x{}\n", "*a ".repeat(n), " b*".repeat(n));
        assert_eq!(check(&emph(MAX_LEVELS), o), Ok(()));
        assert!(check(&emph(MAX_LEVELS + 1), o).is_err());
        // Siblings do not add up: a thousand flat emphases are fine.
        assert_eq!(check(&"*a* ".repeat(1000), o), Ok(()));
    }

    #[test]
    fn hostile_inputs_fail_fast_on_a_small_stack() {
        let inputs = [
            "- ".repeat(10_000) + "a\n",
            ">".repeat(20_000) + " deep\n",
            "*".repeat(50_000) + "x" + &"*".repeat(50_000),
            "*a ".repeat(20_000) + &"b* ".repeat(20_000),
            "> - ".repeat(5_000) + "a\n",
        ];
        let t = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                inputs
                    .iter()
                    .map(|i| check(i, Options::ENABLE_STRIKETHROUGH).is_err())
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(t.join().unwrap(), [true; 5]);
    }
}
