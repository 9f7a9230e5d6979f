//! The game through the plug client: the seed's calls, the rules, the
//! limits and world updates pushed to subscribers.

use std::future::Future;
use std::time::Duration;

use game_server::{rules, GameConfig};
use plug::protocol::codes;
use plug::server::{ServerConfig, Stats};
use plug::{PlugBuilder, RpcPlug};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const DEADLINE: Duration = Duration::from_secs(20);

struct Running {
    endpoint: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Stats>,
}

fn start(config: GameConfig) -> Running {
    let (socket, endpoint) = plug::server::bind("tcp://127.0.0.1:*").unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        game_server::run(socket, config, ServerConfig::rpc(), shutdown)
            .await
            .unwrap()
    });
    Running {
        endpoint,
        stop,
        task,
    }
}

impl Running {
    /// Stops the server. Tests drop their plugs first: a plug whose server
    /// goes away while the plug is being dropped can block its thread in
    /// libzmq's connection monitor (reported; see the plug client's
    /// `monitor.rs`), which would hang the test instead of failing it.
    async fn stop(self) -> Stats {
        // Let the dropped plugs' tasks close their sockets first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = self.stop.send(());
        self.task.await.unwrap()
    }
}

fn plug(name: &str, endpoint: &str) -> RpcPlug {
    PlugBuilder::new(name)
        .connect_to(endpoint)
        .timeout(Duration::from_secs(5))
        .rpc()
        .unwrap()
}

async fn with_deadline<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(DEADLINE, f)
        .await
        .expect("test deadline");
}

async fn ok(p: &RpcPlug, req: Value) -> Value {
    match p.request(req.clone()).await {
        Ok(reply) => reply.result().clone(),
        Err(e) => panic!("{req}: {e}"),
    }
}

/// The error object of a request that must fail.
async fn refused(p: &RpcPlug, req: Value) -> plug::protocol::ErrorObject {
    match p.request(req.clone()).await {
        Ok(reply) => panic!("{req} was accepted: {}", reply.result()),
        Err(e) => e
            .remote()
            .unwrap_or_else(|| panic!("{req}: not an error reply: {e}"))
            .clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_calls_work_as_written() {
    with_deadline(async {
        let server = start(GameConfig::default());
        let p = plug("boomerang", &server.endpoint);
        for (id, name) in [(1, "ann"), (2, "bob"), (3, "cyd")] {
            ok(&p, json!({"method": "join", "user_id": id, "name": name})).await;
        }
        // moveCar: {method, user_id, position} at the top level.
        let state = ok(&p, json!({"method": "moveCar", "user_id": 2, "position": [505, 500]})).await;
        assert_eq!(
            state,
            json!({"user_id": 2, "name": "bob", "room": "lobby", "position": [505.0, 500.0], "moves": 1})
        );
        // getPlayers: result is an array of strings, so
        // response.result.slice(0,10).map (p) -> p.toUpperCase() works.
        let players = ok(&p, json!({"method": "getPlayers"})).await;
        let players = players.as_array().unwrap();
        let top_ten: Vec<String> = players[..players.len().min(10)]
            .iter()
            .map(|p| p.as_str().expect("a name is a string").to_uppercase())
            .collect();
        assert_eq!(top_ten, ["ANN", "BOB", "CYD"]);
        // The same calls with JSON-RPC style params.
        let state = ok(&p, json!({"method": "moveCar", "params": {"user_id": 3, "position": [500, 495]}})).await;
        assert_eq!(state["position"], json!([500.0, 495.0]));
        ok(&p, json!({"method": "leave", "user_id": 1})).await;
        assert_eq!(ok(&p, json!({"method": "getPlayers"})).await, json!(["bob", "cyd"]));
        assert_eq!(ok(&p, json!({"method": "ping"})).await, json!("pong"));
        // Plugs go before the server: see `Running::stop`.
        drop(p);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_out_of_bounds_or_too_fast_are_refused_naming_the_rule() {
    with_deadline(async {
        let config = GameConfig {
            width: 100.0,
            height: 100.0,
            max_speed: 50.0,
            ..GameConfig::default()
        };
        let server = start(config);
        let p = plug("rules", &server.endpoint);
        ok(
            &p,
            json!({"method": "join", "user_id": "u1", "name": "ann"}),
        )
        .await;
        // In 0.1 s at 50/s: 5 units allowed from the spawn at [50, 50].
        let e = refused(
            &p,
            json!({"method": "moveCar", "user_id": "u1", "position": [90, 50]}),
        )
        .await;
        assert_eq!(e.code, rules::TOO_FAST, "{e}");
        assert!(e.message.contains("speed limit"), "{e}");
        assert_eq!(e.data.as_ref().unwrap()["rule"], "max_speed");
        let e = refused(
            &p,
            json!({"method": "moveCar", "user_id": "u1", "position": [50, 100.5]}),
        )
        .await;
        assert_eq!(e.code, rules::OUT_OF_BOUNDS, "{e}");
        assert!(e.message.contains("out of bounds"), "{e}");
        let e = refused(
            &p,
            json!({"method": "moveCar", "user_id": "u1", "position": [-1, 50]}),
        )
        .await;
        assert_eq!(e.code, rules::OUT_OF_BOUNDS);
        // Refused moves change nothing; a legal one goes through.
        let state = ok(&p, json!({"method": "getPlayer", "user_id": "u1"})).await;
        assert_eq!(state["position"], json!([50.0, 50.0]));
        let state = ok(
            &p,
            json!({"method": "moveCar", "user_id": "u1", "position": [53, 54]}),
        )
        .await;
        assert_eq!(
            (state["position"].clone(), state["moves"].clone()),
            (json!([53.0, 54.0]), json!(1))
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        // After 0.4 s, 20 units are allowed.
        ok(
            &p,
            json!({"method": "moveCar", "user_id": "u1", "position": [53, 72]}),
        )
        .await;
        let e = refused(
            &p,
            json!({"method": "moveCar", "user_id": "nobody", "position": [1, 1]}),
        )
        .await;
        assert_eq!(e.code, rules::NOT_JOINED);
        for code in [
            rules::OUT_OF_BOUNDS,
            rules::TOO_FAST,
            rules::NOT_JOINED,
            rules::GAME_FULL,
        ] {
            assert!(
                !(-32768..=-32000).contains(&code),
                "application codes are outside the reserved range"
            );
        }
        // Plugs go before the server: see `Running::stop`.
        drop(p);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_params_are_invalid_params() {
    with_deadline(async {
        let server = start(GameConfig::default());
        let p = plug("params", &server.endpoint);
        ok(&p, json!({"method": "join", "user_id": 1, "name": "ann"})).await;
        for bad in [
            json!({"method": "join", "name": "no id"}),
            json!({"method": "join", "user_id": 2}),
            json!({"method": "join", "user_id": -2, "name": "neg"}),
            json!({"method": "join", "user_id": 2.5, "name": "frac"}),
            json!({"method": "join", "user_id": 2, "name": "   "}),
            json!({"method": "join", "user_id": 2, "name": "x".repeat(33)}),
            json!({"method": "join", "user_id": 2, "name": "ok", "room": 7}),
            json!({"method": "moveCar", "user_id": 1}),
            json!({"method": "moveCar", "user_id": 1, "position": [1]}),
            json!({"method": "moveCar", "user_id": 1, "position": [1, 2, 3]}),
            json!({"method": "moveCar", "user_id": 1, "position": ["1", 2]}),
            json!({"method": "moveCar", "user_id": 1, "position": {"x": 1, "y": 2}}),
            json!({"method": "moveCar", "params": [1, [2, 3]]}),
            json!({"method": "leave"}),
        ] {
            let e = refused(&p, bad.clone()).await;
            assert_eq!(e.code, codes::INVALID_PARAMS, "{bad}: {e}");
        }
        let e = refused(&p, json!({"method": "fly"})).await;
        assert_eq!(e.code, codes::METHOD_NOT_FOUND);
        assert_eq!(
            ok(&p, json!({"method": "getPlayers"})).await,
            json!(["ann"])
        );
        // Plugs go before the server: see `Running::stop`.
        drop(p);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_players_rooms_and_room_size_are_enforced() {
    with_deadline(async {
        let config = GameConfig {
            max_players: 4,
            max_rooms: 2,
            room_capacity: 2,
            ..GameConfig::default()
        };
        let server = start(config);
        let p = plug("limits", &server.endpoint);
        let join = |id: u64, room: &str| json!({"method": "join", "user_id": id, "name": format!("p{id}"), "room": room});
        ok(&p, join(1, "a")).await;
        ok(&p, join(2, "a")).await;
        assert_eq!(refused(&p, join(3, "a")).await.code, rules::ROOM_FULL);
        ok(&p, join(3, "b")).await;
        assert_eq!(refused(&p, join(4, "c")).await.code, rules::TOO_MANY_ROOMS);
        ok(&p, join(4, "b")).await;
        assert_eq!(refused(&p, join(5, "b")).await.code, rules::GAME_FULL);
        assert_eq!(refused(&p, join(1, "b")).await.code, rules::ALREADY_JOINED);
        assert_eq!(ok(&p, json!({"method": "getPlayers", "room": "b"})).await, json!(["p3", "p4"]));
        ok(&p, json!({"method": "leave", "user_id": 3})).await;
        ok(&p, json!({"method": "leave", "user_id": 4})).await;
        ok(&p, join(5, "c")).await;
        // Plugs go before the server: see `Running::stop`.
        drop(p);
        server.stop().await;
    })
    .await;
}

/// The next pushed message, as JSON.
async fn next_push(rx: &mut plug::Messages) -> Value {
    let m = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a push within 5 s")
        .expect("plug open");
    assert_eq!(m.kind(), &plug::MessageKind::Push);
    m.json().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_world_updates_pushed() {
    with_deadline(async {
        let server = start(GameConfig::default());
        let game = plug("boomerang", &server.endpoint);
        let all = plug("velocity", &server.endpoint);
        let only_b = plug("velocity-b", &server.endpoint);
        let mut all_rx = all.messages().unwrap();
        let mut b_rx = only_b.messages().unwrap();
        let r = ok(&all, json!({"method": "subscribe"})).await;
        assert_eq!(r["subscribers"], 1);
        let r = ok(&only_b, json!({"method": "subscribe", "room": "b"})).await;
        assert_eq!(r["subscribers"], 2);

        ok(
            &game,
            json!({"method": "join", "user_id": 1, "name": "ann"}),
        )
        .await;
        ok(
            &game,
            json!({"method": "join", "user_id": 2, "name": "bob", "room": "b"}),
        )
        .await;
        ok(
            &game,
            json!({"method": "moveCar", "user_id": 2, "position": [502, 500]}),
        )
        .await;
        ok(&game, json!({"method": "leave", "user_id": 1})).await;

        let u = next_push(&mut all_rx).await;
        assert!(u.get("id").is_none());
        assert_eq!(u["method"], "worldUpdate");
        assert_eq!(u["params"]["event"], "join");
        assert_eq!(u["params"]["player"]["name"], "ann");
        let events: Vec<(Value, Value)> = {
            let mut v = Vec::new();
            for _ in 0..3 {
                let u = next_push(&mut all_rx).await;
                v.push((
                    u["params"]["event"].clone(),
                    u["params"]["player"]["user_id"].clone(),
                ));
            }
            v
        };
        assert_eq!(
            events,
            [
                (json!("join"), json!(2)),
                (json!("move"), json!(2)),
                (json!("leave"), json!(1))
            ]
        );
        // The room-b subscriber saw only room b.
        assert_eq!(next_push(&mut b_rx).await["params"]["event"], "join");
        let m = next_push(&mut b_rx).await;
        assert_eq!(
            (
                m["params"]["event"].clone(),
                m["params"]["player"]["position"].clone()
            ),
            (json!("move"), json!([502.0, 500.0]))
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(200), b_rx.recv())
                .await
                .is_err()
        );

        let r = ok(&only_b, json!({"method": "unsubscribe"})).await;
        assert_eq!(r["was_subscribed"], true);
        ok(
            &game,
            json!({"method": "moveCar", "user_id": 2, "position": [503, 500]}),
        )
        .await;
        assert_eq!(next_push(&mut all_rx).await["params"]["event"], "move");
        assert!(
            tokio::time::timeout(Duration::from_millis(200), b_rx.recv())
                .await
                .is_err()
        );
        // Plugs go before the server: see `Running::stop`.
        drop((game, all, only_b, all_rx, b_rx));
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_subscribers_are_forgotten() {
    with_deadline(async {
        let server = start(GameConfig {
            max_subscribers: 2,
            ..GameConfig::default()
        });
        let game = plug("boomerang", &server.endpoint);
        {
            let gone = plug("gone", &server.endpoint);
            ok(&gone, json!({"method": "subscribe"})).await;
            let gone2 = plug("gone2", &server.endpoint);
            ok(&gone2, json!({"method": "subscribe"})).await;
            let late = plug("late", &server.endpoint);
            let e = refused(&late, json!({"method": "subscribe"})).await;
            assert_eq!(e.code, rules::TOO_MANY_SUBSCRIBERS);
            drop(gone);
            drop(gone2);
        }
        // Wait until the server has seen both disconnects: a push to them
        // then fails with EHOSTUNREACH and forgets them.
        let late = plug("late", &server.endpoint);
        let mut forgotten = false;
        for i in 0..100u64 {
            ok(&game, json!({"method": "join", "user_id": i, "name": "x"})).await;
            if let Ok(r) = late.request(json!({"method": "subscribe"})).await {
                if r.result()["subscribers"] == 1 {
                    forgotten = true;
                    break;
                }
                ok(&late, json!({"method": "unsubscribe"})).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(forgotten, "gone subscribers were never forgotten");
        // Plugs go before the server: see `Running::stop`.
        drop((game, late));
        server.stop().await;
    })
    .await;
}
