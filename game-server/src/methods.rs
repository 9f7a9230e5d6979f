//! The requests the game server answers.
//!
//! Arguments are read from `params` when it is an object, otherwise from
//! the request's own members, as the SocketStream guide sends them:
//!
//! ```text
//! {"id":1,"method":"join","user_id":21,"name":"ann"}              -> result: player
//! {"id":2,"method":"moveCar","user_id":21,"position":[505,500]}   -> result: player
//! {"id":3,"method":"getPlayers"}                                  -> result: ["ann"]
//! {"id":4,"method":"subscribe"}                                   -> result: {"subscribed":true,...}
//! {"id":5,"method":"leave","user_id":21}                          -> result: player
//! ```
//!
//! where a player is `{"user_id":21,"name":"ann","room":"lobby","position":[505.0,500.0],"moves":1}`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use plug::protocol::ErrorObject;
use plug::server::{Call, Methods};
use serde_json::{json, Map, Value};

use crate::config::{GameConfig, DEFAULT_ROOM};
use crate::rules::{self, broken};
use crate::subscribers::Subscribers;
use crate::world::{UserId, World};

/// The whole game: the world and the plugs listening to it.
#[derive(Debug)]
pub struct Game {
    world: Mutex<World>,
    subscribers: Mutex<Subscribers>,
}

impl Game {
    /// A new, empty game.
    pub fn new(config: GameConfig) -> Game {
        Game {
            world: Mutex::new(World::new(config)),
            subscribers: Mutex::new(Subscribers::default()),
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn subscribers(&self) -> MutexGuard<'_, Subscribers> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn join(&self, call: &Call, args: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let mut world = self.world();
        let max = world.config().max_name_chars;
        let user_id = user_id(args)?;
        let name = text(args, "name", max)?.ok_or_else(|| missing("name"))?;
        let room = text(args, "room", max)?.unwrap_or_else(|| DEFAULT_ROOM.to_owned());
        let player = world.join(user_id, name, room, Instant::now())?;
        let state = player.state();
        self.subscribers()
            .push(&call.outbox, "join", &player.room, state.clone());
        Ok(state)
    }

    fn leave(&self, call: &Call, args: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let mut world = self.world();
        let player = world.leave(&user_id(args)?)?;
        let state = player.state();
        self.subscribers()
            .push(&call.outbox, "leave", &player.room, state.clone());
        Ok(state)
    }

    fn move_car(&self, call: &Call, args: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let user_id = user_id(args)?;
        let to = position(args)?;
        let mut world = self.world();
        let player = world.move_car(&user_id, to, Instant::now())?;
        let state = player.state();
        self.subscribers()
            .push(&call.outbox, "move", &player.room, state.clone());
        Ok(state)
    }

    fn get_players(&self, args: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let world = self.world();
        let room = text(args, "room", world.config().max_name_chars)?;
        Ok(json!(world.names(room.as_deref())))
    }

    fn get_player(&self, args: &Map<String, Value>) -> Result<Value, ErrorObject> {
        Ok(self.world().player(&user_id(args)?)?.state())
    }

    fn subscribe(&self, call: &Call, args: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let max_chars = self.world().config().max_name_chars;
        let limit = self.world().config().max_subscribers;
        let room = text(args, "room", max_chars)?;
        let mut subs = self.subscribers();
        if !subs.subscribe(call.envelope.clone(), room.clone(), limit) {
            return Err(broken(
                rules::TOO_MANY_SUBSCRIBERS,
                "max_subscribers",
                format!("too many subscribers: at most {limit}"),
                json!({ "max_subscribers": limit }),
            ));
        }
        Ok(json!({ "subscribed": true, "room": room, "subscribers": subs.len() }))
    }

    fn unsubscribe(&self, call: &Call) -> Value {
        let was = self.subscribers().unsubscribe(&call.envelope);
        json!({ "subscribed": false, "was_subscribed": was })
    }
}

/// The methods of `game`, ready for [`plug::server::run_rpc`].
pub fn methods(game: Arc<Game>) -> Methods {
    type Method = fn(&Game, &Call, &Map<String, Value>) -> Result<Value, ErrorObject>;
    let table: [(&str, Method); 7] = [
        ("join", |g, c, a| g.join(c, a)),
        ("leave", |g, c, a| g.leave(c, a)),
        ("moveCar", |g, c, a| g.move_car(c, a)),
        ("getPlayers", |g, _, a| g.get_players(a)),
        ("getPlayer", |g, _, a| g.get_player(a)),
        ("subscribe", |g, c, a| g.subscribe(c, a)),
        ("unsubscribe", |g, c, _| Ok(g.unsubscribe(c))),
    ];
    let mut methods = Methods::new().method("ping", |_: Value| async { Ok(json!("pong")) });
    for (name, f) in table {
        let game = game.clone();
        methods = methods.method_with_call(name, move |mut call: Call| {
            let outcome = args(&mut call).and_then(|a| f(&game, &call, &a));
            async move { outcome }
        });
    }
    methods
}

/// The arguments: `params` if it is an object, else the request's members.
fn args(call: &mut Call) -> Result<Map<String, Value>, ErrorObject> {
    match call.take_params() {
        Value::Object(map) => Ok(map),
        Value::Null => {
            let mut map = call.request.object().clone();
            map.remove("method");
            map.remove("jsonrpc");
            Ok(map)
        }
        _ => Err(ErrorObject::invalid_params(
            "`params` must be an object (or leave it out and send the members at the top level)",
        )),
    }
}

fn missing(member: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("missing `{member}`"))
}

fn user_id(args: &Map<String, Value>) -> Result<UserId, ErrorObject> {
    UserId::from_value(args.get("user_id").ok_or_else(|| missing("user_id"))?)
}

/// An optional name member: a string of 1 to `max` characters.
fn text(
    args: &Map<String, Value>,
    member: &str,
    max: usize,
) -> Result<Option<String>, ErrorObject> {
    match args.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(ErrorObject::invalid_params(format!(
            "`{member}` must be a non-blank string of at most {max} characters"
        ))),
    }
}

fn position(args: &Map<String, Value>) -> Result<[f64; 2], ErrorObject> {
    let bad = || ErrorObject::invalid_params("`position` must be [x, y], two numbers");
    let p = args.get("position").ok_or_else(|| missing("position"))?;
    match p.as_array().map(Vec::as_slice) {
        Some([x, y]) => Ok([x.as_f64().ok_or_else(bad)?, y.as_f64().ok_or_else(bad)?]),
        _ => Err(bad()),
    }
}
