//! Generation speed of every shipped level, and of the largest level the format allows with
//! each generator: grid (generator, repair, spawn, props) and meshes, median of 30 runs
//! after 3 warm-up runs, with 30 different seeds. Then the most expensive levels the bounds
//! allow (`limit-*`, every field at its costliest bound: [`heaviest_levels`]), median of 5
//! runs after 1 warm-up: each must stay well under a second, since a level file saved while
//! the game runs is rebuilt at once (hot reload).
//!
//! `cargo run -p bevy_procgen --example level_bench`

use std::path::Path;
use std::time::Instant;

use bevy_procgen::spec::{MAX_SIDE, heaviest_levels};
use bevy_procgen::{
    Generator, Grid, LEVEL_EXTENSION, LevelSpec, NoiseSpec, Props, load_level, mesh,
};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/levels");
    let suffix = format!(".{LEVEL_EXTENSION}");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("assets/levels")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(&suffix))
        .collect();
    files.sort();
    println!(
        "{:<14} {:>9} {:>10} {:>10} {:>10} {:>8}",
        "level", "cells", "grid ms", "mesh ms", "total ms", "quads"
    );
    let mut specs: Vec<LevelSpec> = files
        .iter()
        .map(|p| load_level(p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    // The largest level the format allows, with each generator and every kind of prop.
    for (name, generator) in [
        ("max-maze", Generator::default()),
        (
            "max-rooms",
            Generator::Rooms {
                rooms: 60,
                min_size: 3,
                max_size: 9,
            },
        ),
        ("max-caves", Generator::Caves { steps: 5 }),
        ("max-scatter", Generator::Scatter),
    ] {
        specs.push(LevelSpec {
            name: name.into(),
            width: MAX_SIDE,
            height: MAX_SIDE,
            generator,
            props: Props {
                pillars: 0.05,
                crates: 0.05,
                lights: 0.05,
            },
            height_noise: NoiseSpec {
                amplitude: 1.0,
                ..Default::default()
            },
            ..Default::default()
        });
    }
    let mut runs: Vec<(LevelSpec, u64, u64)> = specs.into_iter().map(|s| (s, 3, 30)).collect();
    runs.extend(heaviest_levels().into_iter().map(|s| (s, 1, 5)));
    let mut slowest_limit = (String::new(), 0.0f64);
    for (spec, warm_up, timed) in runs {
        let mut grid_ms = Vec::new();
        let mut mesh_ms = Vec::new();
        let mut quads = 0;
        for seed in 0..warm_up + timed {
            let t = Instant::now();
            let grid = Grid::from_spec(&spec, seed).unwrap_or_else(|e| panic!("{e}"));
            let g = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let m = mesh::build(&grid, &spec, seed);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            quads = m.walls.quads() + m.floor.quads() + m.ceiling.quads() + m.props.quads();
            if seed >= warm_up {
                grid_ms.push(g);
                mesh_ms.push(ms);
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (g, m) = (median(&mut grid_ms), median(&mut mesh_ms));
        let cells = spec
            .layout
            .as_ref()
            .map_or(spec.width * spec.height, |l| l.len() * l[0].len());
        println!(
            "{:<14} {:>9} {:>10.2} {:>10.2} {:>10.2} {:>8}",
            spec.name,
            cells,
            g,
            m,
            g + m,
            quads
        );
        if spec.name.starts_with("limit-") && g + m > slowest_limit.1 {
            slowest_limit = (spec.name.clone(), g + m);
        }
    }
    println!(
        "slowest level at the bounds: {} {:.1} ms (goal: under 1000 ms)",
        slowest_limit.0, slowest_limit.1
    );
}
