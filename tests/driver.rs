//! Who drives is a state: `G` hands the body to the agent learned in the dream, which then
//! acts from the model's newest policy every tick, and back to the player; a model without
//! an agent keeps the player driving and says so.

mod common;

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_procgen::LevelSpec;
use bevy_world_model::{AgentPolicy, ModelClock, WorldModelNotice};
use mini_dreamer::agent::{Agent, AgentAction};
use mini_dreamer::dreamer::{DreamerPlugin, DreamerPrefill, Driver, dreamer_actions};

fn app(probs: Vec<f32>) -> App {
    app_with(probs, Driver::Player, 0)
}

fn app_with(probs: Vec<f32>, start: Driver, prefill_ticks: u64) -> App {
    let agent = (
        Agent::default(),
        AgentAction::default(),
        Transform::default(),
    );
    let mut app = common::walking_app_with(LevelSpec::default(), 1, agent, |app| {
        app.add_plugins(StatesPlugin)
            .add_plugins(DreamerPlugin {
                seed: 1,
                driver: start,
                prefill_ticks,
            })
            .add_message::<WorldModelNotice>()
            .init_resource::<ModelClock>()
            .insert_resource(AgentPolicy { probs, ..default() });
    });
    app.update();
    app
}

/// One update with `G` pressed (and released after), a new model tick.
fn press_g(app: &mut App) {
    let window = Entity::PLACEHOLDER;
    for state in [ButtonState::Pressed, ButtonState::Released] {
        app.world_mut().write_message(KeyboardInput {
            key_code: KeyCode::KeyG,
            logical_key: Key::Character("g".into()),
            state,
            text: None,
            repeat: false,
            window,
        });
        tick(app);
    }
}

fn tick(app: &mut App) {
    app.world_mut().resource_mut::<ModelClock>().tick += 1;
    app.update();
}

fn action(app: &mut App) -> AgentAction {
    let mut q = app
        .world_mut()
        .query_filtered::<&AgentAction, With<Agent>>();
    *q.single(app.world()).expect("one agent")
}

fn driver(app: &App) -> Driver {
    *app.world().resource::<State<Driver>>().get()
}

#[test]
fn g_hands_the_body_to_the_agent_and_back() {
    // A policy that always turns left (the table's second action).
    let mut app = app(vec![0.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(driver(&app), Driver::Player);
    assert_eq!(
        action(&mut app),
        AgentAction::default(),
        "nobody pressed a key"
    );
    press_g(&mut app);
    assert_eq!(driver(&app), Driver::Agent);
    let turn_left = dreamer_actions(0.1)[1].0;
    for _ in 0..3 {
        tick(&mut app);
        assert_eq!(action(&mut app), turn_left, "the agent acts on its policy");
    }
    press_g(&mut app);
    assert_eq!(driver(&app), Driver::Player);
    tick(&mut app);
    assert_eq!(
        action(&mut app),
        AgentAction::default(),
        "the keys drive again"
    );
}

#[test]
fn without_an_agent_the_player_keeps_driving_and_is_told() {
    let mut app = app(Vec::new());
    press_g(&mut app);
    assert_eq!(driver(&app), Driver::Player);
    let notices: Vec<String> = app
        .world_mut()
        .resource_mut::<Messages<WorldModelNotice>>()
        .drain()
        .map(|n| n.text)
        .collect();
    assert!(
        notices.iter().any(|n| n.contains("no agent")),
        "{notices:?}"
    );
}

/// With a prefill the player's side (the random walk, in the game) drives its ticks, then
/// the agent takes the body once, by itself, and acts from the policy.
#[test]
fn after_the_prefill_the_agent_takes_the_body() {
    let mut app = app_with(vec![0.0, 1.0, 0.0, 0.0, 0.0], Driver::Agent, 3);
    assert_eq!(driver(&app), Driver::Player, "the prefill drives first");
    tick(&mut app);
    tick(&mut app);
    assert_eq!(driver(&app), Driver::Player, "tick 2 of 3");
    assert_eq!(action(&mut app), AgentAction::default());
    tick(&mut app);
    tick(&mut app);
    assert_eq!(driver(&app), Driver::Agent, "tick 3: the agent's");
    assert!(app.world().get_resource::<DreamerPrefill>().is_none());
    tick(&mut app);
    assert_eq!(action(&mut app), dreamer_actions(0.1)[1].0);
}
