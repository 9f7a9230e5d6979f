//! The rules and limits of the game, with their defaults.

/// Rules and limits. Every limit is enforced with an error reply naming it
/// (see [`crate::rules`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GameConfig {
    /// The world is `0..=width` by `0..=height`. Default 1000 x 1000.
    pub width: f64,
    /// See `width`.
    pub height: f64,
    /// Fastest allowed car, in units per second. A move may cover at most
    /// `max_speed * max(seconds since the last move, 0.1)`. Default 100.
    pub max_speed: f64,
    /// Players in the whole game. Default 1000.
    pub max_players: usize,
    /// Rooms with at least one player. Default 100.
    pub max_rooms: usize,
    /// Players in one room. Default 50.
    pub room_capacity: usize,
    /// Plugs subscribed to world updates. Default 256.
    pub max_subscribers: usize,
    /// Longest player or room name, in characters. Default 32.
    pub max_name_chars: usize,
}

impl Default for GameConfig {
    fn default() -> GameConfig {
        GameConfig {
            width: 1000.0,
            height: 1000.0,
            max_speed: 100.0,
            max_players: 1000,
            max_rooms: 100,
            room_capacity: 50,
            max_subscribers: 256,
            max_name_chars: 32,
        }
    }
}

/// The room a player joins when `join` names none.
pub const DEFAULT_ROOM: &str = "lobby";

/// The shortest time a move is credited with, in seconds, so a first move
/// right after joining can still go somewhere.
pub const MIN_MOVE_SECONDS: f64 = 0.1;
