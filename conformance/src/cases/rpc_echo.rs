//! `rpc.echo.*`: payload fidelity through `echo` (§6.2), when it exists.

use serde_json::{json, Value};

use super::case;
use crate::case::{fail, Case, Ctx, Path::*, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::hints;
use crate::json::same_value;
use crate::rpc::{alive_after, call_optional, Request, RpcConn};
use crate::trace::show_bytes;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.echo.unicode",
            Rpc,
            May,
            &["6.2-a"],
            "unicode text (accents, CJK, emoji, RTL, combining marks) comes back unchanged",
            |c| {
                echo(
                    c,
                    json!({"text": "héllo wörld 日本語 😀🎉 𝄞 עברית e\u{301} \u{200d}\u{fe0f}", "keys": {"ключ": "值"}}),
                )
            },
        )
        .on(&[Success, Bare]),
        case(
            "rpc.echo.escapes",
            Rpc,
            May,
            &["6.2-a"],
            "strings with quotes, backslashes, control characters and NUL come back unchanged",
            |c| {
                echo(
                    c,
                    json!([
                        "\"quoted\"",
                        "back\\slash",
                        "\u{0}\u{1}\u{1f}\u{7f}",
                        "line\nbreak\ttab\r",
                        "</script>",
                        "\u{2028}\u{2029}",
                        "nul\u{0}inside"
                    ]),
                )
            },
        )
        .on(&[Success, Bare]),
        case(
            "rpc.echo.types",
            Rpc,
            May,
            &["6.2-a"],
            "numbers, booleans, null, empty containers come back as the same values",
            |c| {
                echo(
                    c,
                    json!([
                        0,
                        -1,
                        1.5,
                        -2.25e-10,
                        1e300,
                        9007199254740991i64,
                        true,
                        false,
                        null,
                        [],
                        {},
                        ""
                    ]),
                )
            },
        )
        .on(&[Success, Bare]),
        case(
            "rpc.echo.nested",
            Rpc,
            May,
            &["6.2-a"],
            "a value nested 30 levels deep comes back unchanged",
            |c| {
                // 31 levels with the request object: within the depth limits
                // of common JSON libraries (.NET's 64, Boost.JSON's 32), as
                // PROTOCOL.md sets no floor for nesting.
                let mut v = json!("bottom");
                for i in 0..30 {
                    v = if i % 2 == 0 {
                        json!([v, i])
                    } else {
                        json!({"level": i, "next": v})
                    };
                }
                echo(c, v)
            },
        )
        .on(&[Success, Bare]),
        case(
            "rpc.echo.floor-size",
            Rpc,
            May,
            &["6.2-a", "8.1-b"],
            "a 60000-character string (a request under 64 KiB) comes back unchanged",
            |c| echo(c, Value::from(letters(60_000))),
        )
        .on(&[Success, Bare]),
        case(
            "rpc.echo.large",
            Rpc,
            May,
            &["6.2-a", "5.5-i", "8.1-c"],
            "a 1 MiB string comes back unchanged, or gets -32001 (above the 64 KiB floor)",
            |c| echo_judged(c, Value::from(letters(1 << 20)), Some("a 1 MiB request")),
        )
        .on(&[Success, Bare])
        .slow(10),
    ]
}

fn letters(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

fn echo(ctx: &Ctx, params: Value) -> Step<Verdict> {
    echo_judged(ctx, params, None)
}

/// `large` names a request that may be above the server's bound: dropping
/// it instead of answering -32001 is then a SHOULD (§8.1-c), as long as
/// the server still answers afterwards.
fn echo_judged(ctx: &Ctx, params: Value, large: Option<&str>) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let text = params.to_string();
    let reply = match (
        large,
        call_optional(&conn, &Request::with_params("1", "echo", &text), "echo"),
    ) {
        (Some(what), Err(Verdict::Fail(f))) if f.actual.starts_with("nothing received") => {
            ctx.notes.soft_fail(
                fail(
                    format!("a reply to {what}: its echo, or -32001 (§8.1-c SHOULD)"),
                    f.actual,
                )
                .hint(hints::DROPPED_NOT_REFUSED)
                .should(),
            );
            alive_after(ctx, &conn, what)?;
            conn.finish()?;
            return Ok(Verdict::Pass);
        }
        (_, other) => other?,
    };
    if reply.limited {
        conn.finish()?;
        return Ok(Verdict::Pass);
    }
    let Some(got) = &reply.result else {
        return Err(fail("a success reply (§6.2-a)", reply.short()));
    };
    if !same_value(&text, got) {
        return Err(fail(
            format!(
                "the params back as the result: {}",
                show_bytes(text.as_bytes(), 200)
            ),
            format!(
                "the result {}{}",
                show_bytes(got.as_bytes(), 200),
                first_difference(&text, got)
            ),
        )
        .hint(
            "the payload changed on its way through the server: decode and encode JSON as \
             UTF-8, keep NUL and control characters, keep numbers' values",
        ));
    }
    conn.finish()?;
    Ok(Verdict::Pass)
}

/// Where two JSON texts first differ, for long payloads.
fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        " (first difference at byte {at} of {} sent, {} received)",
        a.len(),
        b.len()
    )
}
