//! `rpc.echo.*`: payload fidelity through `echo` (§6.2), when it exists.

use serde_json::{json, Value};

use super::case;
use crate::case::{fail, Case, Ctx, Profile::Rpc, Requirement::*, Step, Verdict};
use crate::rpc::{call_optional, request, RpcConn};
use crate::trace::show_bytes;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "rpc.echo.unicode",
            Rpc,
            May,
            "6.2",
            "unicode text (accents, CJK, emoji, RTL, combining marks) comes back unchanged",
            |c| {
                echo(
                    c,
                    json!({"text": "héllo wörld 日本語 😀🎉 𝄞 עברית e\u{301} \u{200d}\u{fe0f}", "keys": {"ключ": "值"}}),
                )
            },
        ),
        case(
            "rpc.echo.escapes",
            Rpc,
            May,
            "6.2",
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
                        "\u{2028}\u{2029}"
                    ]),
                )
            },
        ),
        case(
            "rpc.echo.types",
            Rpc,
            May,
            "6.2",
            "numbers, booleans, null, empty containers come back unchanged",
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
        ),
        case(
            "rpc.echo.nested",
            Rpc,
            May,
            "6.2",
            "a value nested 64 levels deep comes back unchanged",
            |c| {
                let mut v = json!("bottom");
                for i in 0..64 {
                    v = if i % 2 == 0 {
                        json!([v, i])
                    } else {
                        json!({"level": i, "next": v})
                    };
                }
                echo(c, v)
            },
        ),
        case(
            "rpc.echo.large",
            Rpc,
            May,
            "6.2",
            "a 1 MiB string comes back unchanged",
            |c| {
                let s: String = (0..1 << 20)
                    .map(|i| char::from(b'a' + (i % 26) as u8))
                    .collect();
                echo(c, Value::from(s))
            },
        ),
    ]
}

fn echo(ctx: &Ctx, params: Value) -> Step<Verdict> {
    let conn = RpcConn::bare(ctx, "A")?;
    let reply = call_optional(&conn, &request("1", "echo", Some(&params)), "echo")?;
    match reply.result() {
        Some(got) if *got == params => Ok(Verdict::Pass),
        Some(got) => Err(fail(
            format!(
                "the params back as the result: {}",
                show_bytes(params.to_string().as_bytes(), 200)
            ),
            format!(
                "the result {}{}",
                show_bytes(got.to_string().as_bytes(), 200),
                first_difference(&params, got)
            ),
        )),
        None => Err(fail("a success reply", reply.short())),
    }
}

/// Where two JSON texts first differ, for long payloads.
fn first_difference(a: &Value, b: &Value) -> String {
    let (a, b) = (a.to_string(), b.to_string());
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
