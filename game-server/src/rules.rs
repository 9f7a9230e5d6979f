//! Application error codes: each names the rule a request broke.
//!
//! They are outside -32768..-32000, the range PROTOCOL.md §5.5 reserves.
//! The `message` says the rule in words and `data.rule` names it, e.g.
//!
//! ```text
//! {"id":4,"error":{"code":1002,"message":"speed limit: moved 500 units in 0.10 s, at most 10 allowed (max_speed 100/s)","data":{"rule":"max_speed",...}}}
//! ```

use plug::protocol::ErrorObject;
use serde_json::{json, Value};

/// A move outside the world.
pub const OUT_OF_BOUNDS: i64 = 1001;
/// A move faster than `max_speed`.
pub const TOO_FAST: i64 = 1002;
/// The user has not joined (or has left).
pub const NOT_JOINED: i64 = 1003;
/// The user is already playing.
pub const ALREADY_JOINED: i64 = 1004;
/// `max_players` reached.
pub const GAME_FULL: i64 = 1005;
/// `room_capacity` reached.
pub const ROOM_FULL: i64 = 1006;
/// `max_rooms` reached.
pub const TOO_MANY_ROOMS: i64 = 1007;
/// `max_subscribers` reached.
pub const TOO_MANY_SUBSCRIBERS: i64 = 1008;

/// An error reply for broken rule `rule`, with details in `data`.
pub fn broken(code: i64, rule: &str, message: String, mut data: Value) -> ErrorObject {
    if let Value::Object(map) = &mut data {
        map.insert("rule".to_owned(), json!(rule));
    } else {
        data = json!({ "rule": rule });
    }
    ErrorObject::new(code, message).with_data(data)
}
