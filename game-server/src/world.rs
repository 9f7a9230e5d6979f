//! The game state: players, their rooms and cars, and the rules of moving.
//!
//! Pure logic with the time passed in, so the rules are tested without
//! sleeping; the methods (`methods.rs`) lock it and add the clock.

use std::collections::HashMap;
use std::time::Instant;

use plug::protocol::ErrorObject;
use serde_json::{json, Value};

use crate::config::{GameConfig, MIN_MOVE_SECONDS};
use crate::rules::{self, broken};

/// A user id as the request sent it: a string or a non-negative integer.
/// `21` and `"21"` are different users.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// Reads a user id, or the -32602 error.
    pub fn from_value(v: &Value) -> Result<UserId, ErrorObject> {
        match v {
            Value::String(_) => Ok(UserId(v.to_string())),
            Value::Number(n) if n.is_u64() => Ok(UserId(v.to_string())),
            _ => Err(ErrorObject::invalid_params(
                "`user_id` must be a string or a non-negative integer",
            )),
        }
    }

    /// Back to JSON, as it was sent.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// One player and their car.
#[derive(Clone, Debug)]
pub struct Player {
    /// Who.
    pub user_id: UserId,
    /// Shown to other players.
    pub name: String,
    /// Where they play.
    pub room: String,
    /// The car, `[x, y]`.
    pub position: [f64; 2],
    /// Moves accepted so far.
    pub moves: u64,
    joined: u64,
    last_move: Instant,
}

impl Player {
    /// The player as replies and world updates show it.
    pub fn state(&self) -> Value {
        json!({
            "user_id": self.user_id.to_value(),
            "name": self.name,
            "room": self.room,
            "position": self.position,
            "moves": self.moves,
        })
    }
}

/// Every player, in memory.
#[derive(Debug)]
pub struct World {
    config: GameConfig,
    players: HashMap<UserId, Player>,
    rooms: HashMap<String, usize>,
    joins: u64,
}

impl World {
    /// An empty world.
    pub fn new(config: GameConfig) -> World {
        World {
            config,
            players: HashMap::new(),
            rooms: HashMap::new(),
            joins: 0,
        }
    }

    /// The rules in force.
    pub fn config(&self) -> &GameConfig {
        &self.config
    }

    /// Adds a player to `room`, the car in the middle of the world.
    pub fn join(
        &mut self,
        user_id: UserId,
        name: String,
        room: String,
        now: Instant,
    ) -> Result<&Player, ErrorObject> {
        let c = &self.config;
        if self.players.contains_key(&user_id) {
            return Err(broken(
                rules::ALREADY_JOINED,
                "already_joined",
                "already joined: leave first to join again".into(),
                json!({ "user_id": user_id.to_value() }),
            ));
        }
        if self.players.len() >= c.max_players {
            return Err(broken(
                rules::GAME_FULL,
                "max_players",
                format!("game full: at most {} players", c.max_players),
                json!({ "max_players": c.max_players }),
            ));
        }
        let in_room = self.rooms.get(&room).copied().unwrap_or(0);
        if in_room == 0 && self.rooms.len() >= c.max_rooms {
            return Err(broken(
                rules::TOO_MANY_ROOMS,
                "max_rooms",
                format!("too many rooms: at most {} rooms with players", c.max_rooms),
                json!({ "max_rooms": c.max_rooms }),
            ));
        }
        if in_room >= c.room_capacity {
            return Err(broken(
                rules::ROOM_FULL,
                "room_capacity",
                format!("room full: at most {} players in a room", c.room_capacity),
                json!({ "room": room, "room_capacity": c.room_capacity }),
            ));
        }
        *self.rooms.entry(room.clone()).or_insert(0) += 1;
        self.joins += 1;
        let player = Player {
            user_id: user_id.clone(),
            name,
            room,
            position: [c.width / 2.0, c.height / 2.0],
            moves: 0,
            joined: self.joins,
            last_move: now,
        };
        Ok(self.players.entry(user_id).or_insert(player))
    }

    /// Removes a player.
    pub fn leave(&mut self, user_id: &UserId) -> Result<Player, ErrorObject> {
        let player = self
            .players
            .remove(user_id)
            .ok_or_else(|| not_joined(user_id))?;
        if let Some(n) = self.rooms.get_mut(&player.room) {
            *n -= 1;
            if *n == 0 {
                self.rooms.remove(&player.room);
            }
        }
        Ok(player)
    }

    /// Moves a player's car to `to`, if the rules allow it.
    pub fn move_car(
        &mut self,
        user_id: &UserId,
        to: [f64; 2],
        now: Instant,
    ) -> Result<&Player, ErrorObject> {
        let c = &self.config;
        let player = self
            .players
            .get_mut(user_id)
            .ok_or_else(|| not_joined(user_id))?;
        let [x, y] = to;
        if !(0.0..=c.width).contains(&x) || !(0.0..=c.height).contains(&y) {
            return Err(broken(
                rules::OUT_OF_BOUNDS,
                "bounds",
                format!(
                    "out of bounds: [{x}, {y}] is outside [0, {}] x [0, {}]",
                    c.width, c.height
                ),
                json!({ "position": to, "width": c.width, "height": c.height }),
            ));
        }
        let [px, py] = player.position;
        let distance = (x - px).hypot(y - py);
        let seconds = now
            .saturating_duration_since(player.last_move)
            .as_secs_f64()
            .max(MIN_MOVE_SECONDS);
        let allowed = c.max_speed * seconds;
        if distance > allowed {
            return Err(broken(
                rules::TOO_FAST,
                "max_speed",
                format!(
                    "speed limit: moved {distance:.1} units in {seconds:.2} s, at most {allowed:.1} allowed (max_speed {}/s)",
                    c.max_speed
                ),
                json!({ "distance": distance, "seconds": seconds, "allowed": allowed, "max_speed": c.max_speed }),
            ));
        }
        player.position = to;
        player.moves += 1;
        player.last_move = now;
        Ok(player)
    }

    /// Player names in the order they joined, in one room or all.
    pub fn names(&self, room: Option<&str>) -> Vec<String> {
        let mut players: Vec<&Player> = self
            .players
            .values()
            .filter(|p| match room {
                Some(r) => p.room == r,
                None => true,
            })
            .collect();
        players.sort_by_key(|p| p.joined);
        players.into_iter().map(|p| p.name.clone()).collect()
    }

    /// One player.
    pub fn player(&self, user_id: &UserId) -> Result<&Player, ErrorObject> {
        self.players.get(user_id).ok_or_else(|| not_joined(user_id))
    }

    /// How many players and rooms there are.
    pub fn counts(&self) -> (usize, usize) {
        (self.players.len(), self.rooms.len())
    }
}

fn not_joined(user_id: &UserId) -> ErrorObject {
    broken(
        rules::NOT_JOINED,
        "joined",
        "not joined: send `join` with this user_id first".into(),
        json!({ "user_id": user_id.to_value() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn uid(n: u64) -> UserId {
        UserId::from_value(&json!(n)).unwrap()
    }

    fn small() -> GameConfig {
        GameConfig {
            width: 100.0,
            height: 50.0,
            max_speed: 10.0,
            max_players: 3,
            max_rooms: 2,
            room_capacity: 2,
            ..GameConfig::default()
        }
    }

    #[test]
    fn moves_obey_bounds_and_speed() {
        let t0 = Instant::now();
        let mut w = World::new(small());
        let p = w.join(uid(1), "ann".into(), "a".into(), t0).unwrap();
        assert_eq!(p.position, [50.0, 25.0]);
        // 0.1 s credited at least: 1 unit.
        assert_eq!(w.move_car(&uid(1), [51.0, 25.0], t0).unwrap().moves, 1);
        let e = w.move_car(&uid(1), [53.0, 25.0], t0).unwrap_err();
        assert_eq!(e.code, rules::TOO_FAST);
        assert_eq!(e.data.as_ref().unwrap()["rule"], "max_speed");
        let later = t0 + Duration::from_secs(2);
        assert_eq!(
            w.move_car(&uid(1), [71.0, 25.0], later).unwrap().position,
            [71.0, 25.0]
        );
        let e = w
            .move_car(&uid(1), [101.0, 25.0], later + Duration::from_secs(9))
            .unwrap_err();
        assert_eq!(e.code, rules::OUT_OF_BOUNDS);
        let e = w
            .move_car(&uid(1), [80.0, -0.5], later + Duration::from_secs(9))
            .unwrap_err();
        assert_eq!(e.code, rules::OUT_OF_BOUNDS);
        assert_eq!(w.player(&uid(1)).unwrap().position, [71.0, 25.0]);
        assert_eq!(
            w.move_car(&uid(9), [1.0, 1.0], later).unwrap_err().code,
            rules::NOT_JOINED
        );
    }

    #[test]
    fn limits_on_players_rooms_and_capacity() {
        let t = Instant::now();
        let mut w = World::new(small());
        w.join(uid(1), "a".into(), "r1".into(), t).unwrap();
        let e = w.join(uid(1), "a".into(), "r1".into(), t).unwrap_err();
        assert_eq!(e.code, rules::ALREADY_JOINED);
        w.join(uid(2), "b".into(), "r1".into(), t).unwrap();
        let e = w.join(uid(3), "c".into(), "r1".into(), t).unwrap_err();
        assert_eq!(e.code, rules::ROOM_FULL);
        w.join(uid(3), "c".into(), "r2".into(), t).unwrap();
        let e = w.join(uid(4), "d".into(), "r3".into(), t).unwrap_err();
        assert_eq!(e.code, rules::GAME_FULL);
        w.leave(&uid(3)).unwrap();
        w.leave(&uid(2)).unwrap();
        w.join(uid(4), "d".into(), "r3".into(), t).unwrap();
        let e = w.join(uid(5), "e".into(), "r4".into(), t).unwrap_err();
        assert_eq!(e.code, rules::TOO_MANY_ROOMS);
        assert_eq!(w.names(None), vec!["a", "d"]);
        assert_eq!(w.names(Some("r3")), vec!["d"]);
        assert_eq!(w.counts(), (2, 2));
        assert_eq!(w.leave(&uid(2)).unwrap_err().code, rules::NOT_JOINED);
    }

    #[test]
    fn user_ids_keep_their_type() {
        let s = UserId::from_value(&json!("21")).unwrap();
        assert_ne!(s, uid(21));
        assert_eq!(s.to_value(), json!("21"));
        for bad in [json!(-1), json!(1.5), json!(null), json!([1])] {
            assert!(UserId::from_value(&bad).is_err(), "{bad}");
        }
    }
}
