//! Merged meshes for a grid: walls, floor, ceiling and props, coloured per vertex with noise
//! and baked light, so every place looks a little different (which a world model can learn
//! from) and the renderer draws four unlit meshes.

use bevy::asset::RenderAssetUsages;
use bevy::color::{ColorToComponents, LinearRgba, Srgba};
use bevy::math::{IVec2, Vec3};
use bevy::mesh::{Indices, Mesh, PrimitiveTopology};
use noise::{NoiseFn, Perlin};

use crate::grid::{Fnv1a, Grid, PropKind};
use crate::spec::{LevelSpec, MAX_LIGHT_RADIUS, MAX_OCTAVES, NoiseSpec, Palette, Rgb};

/// Vertex buffers before they become a [`Mesh`].
#[derive(Default, Debug, Clone, PartialEq)]
pub struct MeshData {
    /// Positions.
    pub positions: Vec<[f32; 3]>,
    /// Normals.
    pub normals: Vec<[f32; 3]>,
    /// Linear RGBA vertex colours.
    pub colors: Vec<[f32; 4]>,
    /// Triangle indices.
    pub indices: Vec<u32>,
}

impl MeshData {
    /// Adds a quad with corners in counter-clockwise order seen from the side `normal` faces.
    fn quad(&mut self, corners: [Vec3; 4], normal: Vec3, colors: [[f32; 4]; 4]) {
        let base = self.positions.len() as u32;
        for (c, col) in corners.iter().zip(colors) {
            self.positions.push(c.to_array());
            self.normals.push(normal.to_array());
            self.colors.push(col);
        }
        self.indices
            .extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    }

    /// Adds the horizontal rectangle `[x0, x1] x [z0, z1]` at height `y`, seen from above
    /// (`up`: floors, tops) or from below (ceilings, lamps).
    fn flat(&mut self, [x0, z0, x1, z1]: [f32; 4], y: f32, up: bool, color: [f32; 4]) {
        let corners = if up {
            [(x0, z1), (x1, z1), (x1, z0), (x0, z0)]
        } else {
            [(x0, z0), (x1, z0), (x1, z1), (x0, z1)]
        };
        let normal = if up { Vec3::Y } else { Vec3::NEG_Y };
        self.quad(corners.map(|(x, z)| Vec3::new(x, y, z)), normal, [color; 4]);
    }

    /// Number of quads.
    pub fn quads(&self) -> usize {
        self.positions.len() / 4
    }

    /// A Bevy mesh with positions, normals and colours.
    pub fn into_mesh(self) -> Mesh {
        Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::RENDER_WORLD,
        )
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, self.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, self.normals)
        .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, self.colors)
        .with_inserted_indices(Indices::U32(self.indices))
    }

    /// A stable hash (FNV-1a over the raw floats and indices), for determinism tests.
    pub fn hash(&self) -> u64 {
        let mut h = Fnv1a::default();
        for p in self.positions.iter().chain(&self.normals) {
            p.iter().for_each(|v| h.write(&v.to_le_bytes()));
        }
        for c in &self.colors {
            c.iter().for_each(|v| h.write(&v.to_le_bytes()));
        }
        self.indices.iter().for_each(|i| h.write(&i.to_le_bytes()));
        h.finish()
    }
}

/// The merged meshes of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelMeshes {
    /// Every visible wall face (and wall tops below the ceiling).
    pub walls: MeshData,
    /// One quad per open cell.
    pub floor: MeshData,
    /// One quad per open cell.
    pub ceiling: MeshData,
    /// Pillars, crates and lamps.
    pub props: MeshData,
}

/// A palette colour (sRGB, as modders pick them) scaled by `k`, plus `glow` of the light
/// colour, as the linear vertex colour the renderer expects.
fn shade(c: Rgb, k: f32, glow: f32, light: Rgb) -> [f32; 4] {
    let ch = |base: f32, l: f32| (base * k + glow * l * 0.45).clamp(0.0, 1.0);
    let srgb = Srgba::rgb(ch(c.0, light.0), ch(c.1, light.1), ch(c.2, light.2));
    LinearRgba::from(srgb).to_f32_array()
}

/// The four vertical faces of the box `[x0, x1] x [z0, z1]`: the grid direction each faces,
/// its normal, its bottom edge (counter-clockwise seen from outside) and how dark that
/// direction is lit (0 brightest, 1 darkest, scaled by `Lighting::contrast`).
fn sides([x0, z0, x1, z1]: [f32; 4]) -> [(IVec2, Vec3, [Vec3; 2], f32); 4] {
    [
        (
            IVec2::X,
            Vec3::X,
            [Vec3::new(x1, 0.0, z1), Vec3::new(x1, 0.0, z0)],
            0.29,
        ),
        (
            IVec2::NEG_X,
            Vec3::NEG_X,
            [Vec3::new(x0, 0.0, z0), Vec3::new(x0, 0.0, z1)],
            1.0,
        ),
        (
            IVec2::Y,
            Vec3::Z,
            [Vec3::new(x0, 0.0, z1), Vec3::new(x1, 0.0, z1)],
            0.0,
        ),
        (
            IVec2::NEG_Y,
            Vec3::NEG_Z,
            [Vec3::new(x1, 0.0, z0), Vec3::new(x0, 0.0, z0)],
            0.64,
        ),
    ]
}

/// Perlin fBm in about `[-1, 1]`; at most [`MAX_OCTAVES`] layers whatever the spec says.
fn fbm(perlin: &Perlin, x: f32, z: f32, n: &NoiseSpec) -> f32 {
    let (mut sum, mut amp, mut freq, mut norm) = (0.0, 1.0, n.frequency as f64, 0.0);
    for _ in 0..n.octaves.min(MAX_OCTAVES) {
        sum += amp * perlin.get([x as f64 * freq, z as f64 * freq]) as f32;
        norm += amp;
        amp *= 0.5;
        freq *= 2.0;
    }
    sum / norm.max(1e-6)
}

/// Builds the meshes. Light is baked into vertex colours (wall directions differ in
/// brightness, walls darken towards the floor, lamps brighten what is near them), so an unlit
/// material suffices: the cheapest thing a software rasteriser can draw.
pub fn build(grid: &Grid, spec: &LevelSpec, seed: u64) -> LevelMeshes {
    let perlin = Perlin::new(seed as u32 ^ (seed >> 32) as u32);
    let light_rgb = spec.palette.light;
    let lit = &spec.lighting;
    let cs = spec.cell_size;
    let ceiling_y = spec.wall_height;
    let glow = glow_map(grid, lit.light_radius, lit.light_strength);
    let glow_at = |c: IVec2| grid.index(c).map_or(0.0, |i| glow[i]);
    let detail =
        |x: f32, z: f32| 1.0 + spec.color_noise.amplitude * fbm(&perlin, x, z, &spec.color_noise);
    let border = |c: IVec2| {
        c.x <= 0 || c.y <= 0 || c.x >= grid.width() as i32 - 1 || c.y >= grid.height() as i32 - 1
    };
    let wall_top = |c: IVec2| {
        // The border stays full height: nothing may be seen over it.
        if spec.height_noise.amplitude <= 0.0 || border(c) {
            return ceiling_y;
        }
        let n = (fbm(
            &perlin,
            c.x as f32 + 300.0,
            c.y as f32 - 300.0,
            &spec.height_noise,
        ) + 1.0)
            * 0.5;
        (ceiling_y - spec.height_noise.amplitude * n).clamp(0.3_f32.min(ceiling_y), ceiling_y)
    };
    let mut walls = MeshData::default();
    let mut floor = MeshData::default();
    let mut ceiling = MeshData::default();
    let mut props = MeshData::default();
    let b = lit.brightness;

    for z in 0..grid.height() as i32 {
        for x in 0..grid.width() as i32 {
            let cell = IVec2::new(x, z);
            let (x0, z0) = (x as f32 * cs, z as f32 * cs);
            let rect = [x0, z0, x0 + cs, z0 + cs];
            if !grid.is_wall(cell) {
                let g = glow_at(cell);
                let tile = detail(x as f32, z as f32) + if (x + z) % 2 == 0 { 0.06 } else { -0.06 };
                let f = shade(spec.palette.floor, b * tile, g, light_rgb);
                floor.flat(rect, 0.0, true, f);
                let c = shade(
                    spec.palette.ceiling,
                    b * (1.0 + 0.5 * (detail(x as f32 + 50.0, z as f32) - 1.0)),
                    g * 0.5,
                    light_rgb,
                );
                ceiling.flat(rect, ceiling_y, false, c);
                continue;
            }
            // Region colour from low-frequency noise, brightness from the colour noise.
            let n = spec.palette.walls.len().max(1);
            let r = perlin.get([
                x as f64 / spec.region_size as f64,
                z as f64 / spec.region_size as f64,
            ]) as f32;
            let region = ((r + 1.0) * 0.5 * n as f32) as usize;
            let base = wall_colour(&spec.palette, region.min(n - 1));
            let k = b * detail(x as f32 + 100.0, z as f32 - 100.0);
            let top = wall_top(cell);
            // Faces towards open neighbours, and towards lower walls above their tops.
            for (dir, normal, [a, bb], dark) in sides(rect) {
                let next = cell + dir;
                let from = match grid.index(next) {
                    None => continue,
                    Some(_) if grid.is_wall(next) => wall_top(next),
                    Some(_) => 0.0,
                };
                if from >= top {
                    continue;
                }
                let light = 1.0 - lit.contrast * dark;
                let g = glow_at(next);
                let shadow = 1.0 - lit.floor_shadow * (1.0 - from / top.max(1e-3));
                let low = shade(base, k * light * shadow, g * 0.6, light_rgb);
                let high = shade(base, k * light, g, light_rgb);
                let (lo, hi) = (Vec3::Y * from, Vec3::Y * top);
                walls.quad(
                    [a + lo, bb + lo, bb + hi, a + hi],
                    normal,
                    [low, low, high, high],
                );
            }
            if top < ceiling_y {
                // Over a lower wall the ceiling (or sky) goes on.
                ceiling.flat(
                    rect,
                    ceiling_y,
                    false,
                    shade(spec.palette.ceiling, b, 0.0, light_rgb),
                );
                walls.flat(rect, top, true, shade(base, k * 1.05, 0.0, light_rgb));
            }
        }
    }
    for (i, p) in grid.props().iter().enumerate() {
        let centre = Vec3::new(
            (p.cell.x as f32 + 0.5) * cs,
            0.0,
            (p.cell.y as f32 + 0.5) * cs,
        );
        let g = glow_at(p.cell);
        let n = spec.palette.walls.len().max(1);
        match p.kind {
            PropKind::Pillar => {
                let c = wall_colour(&spec.palette, i % n);
                let half = p.kind.half_size() * cs;
                block(
                    &mut props,
                    centre,
                    half,
                    ceiling_y,
                    c,
                    b * 0.95,
                    g,
                    lit.contrast,
                    light_rgb,
                );
            }
            PropKind::Crate => {
                let c = wall_colour(&spec.palette, (i + 1) % n);
                let half = p.kind.half_size() * cs;
                block(
                    &mut props,
                    centre,
                    half,
                    (2.0 * half).min(ceiling_y),
                    c,
                    b * 0.75,
                    g,
                    lit.contrast,
                    light_rgb,
                );
            }
            PropKind::Light => {
                let half = 0.16 * cs;
                let y = ceiling_y - 0.01;
                let col = shade(light_rgb, 1.0 + lit.light_strength, 0.0, light_rgb);
                let lamp = [
                    centre.x - half,
                    centre.z - half,
                    centre.x + half,
                    centre.z + half,
                ];
                props.flat(lamp, y, false, col);
            }
        }
    }
    LevelMeshes {
        walls,
        floor,
        ceiling,
        props,
    }
}

/// Wall colour `i` of the palette; the floor colour if it has none (validation requires one,
/// so only a spec that skipped it gets there).
fn wall_colour(palette: &Palette, i: usize) -> Rgb {
    palette.walls.get(i).copied().unwrap_or(palette.floor)
}

/// A box of `half` width standing on the floor at `centre`, `height` tall, with a top.
fn block(
    out: &mut MeshData,
    centre: Vec3,
    half: f32,
    height: f32,
    color: Rgb,
    k: f32,
    glow: f32,
    contrast: f32,
    light: Rgb,
) {
    let rect = [
        centre.x - half,
        centre.z - half,
        centre.x + half,
        centre.z + half,
    ];
    let up = Vec3::Y * height;
    for (_, normal, [a, b], dark) in sides(rect) {
        let l = k * (1.0 - contrast * dark);
        let low = shade(color, l * 0.7, glow * 0.6, light);
        let high = shade(color, l, glow, light);
        out.quad([a, b, b + up, a + up], normal, [low, low, high, high]);
    }
    out.flat(rect, height, true, shade(color, k * 1.05, glow, light));
}

/// Brightness added to each cell by the lamps: `strength * (1 - d / radius)^2` within
/// `radius` cells of a lamp, summed, capped at `strength`.
///
/// Its cost is lamps x `(2 radius + 1)^2`; the radius is capped at [`MAX_LIGHT_RADIUS`] (as
/// [`LevelSpec::validate`] requires), so a spec that skipped the check cannot make it run for
/// minutes or overflow.
fn glow_map(grid: &Grid, radius: f32, strength: f32) -> Vec<f32> {
    let mut glow = vec![0.0f32; grid.width() * grid.height()];
    let radius = radius.min(MAX_LIGHT_RADIUS);
    let r = radius.ceil() as i32;
    for p in grid.props().iter().filter(|p| p.kind == PropKind::Light) {
        for dz in -r..=r {
            for dx in -r..=r {
                let d = ((dx * dx + dz * dz) as f32).sqrt();
                if d > radius {
                    continue;
                }
                if let Some(i) = grid.index(p.cell + IVec2::new(dx, dz)) {
                    let f = 1.0 - d / radius;
                    glow[i] = (glow[i] + strength * f * f).min(strength);
                }
            }
        }
    }
    glow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Props;

    #[test]
    fn meshes_are_deterministic_and_only_show_visible_faces() {
        let spec = LevelSpec {
            layout: Some(vec!["#####".into(), "#S..#".into(), "#####".into()]),
            ..Default::default()
        };
        let g = Grid::from_spec(&spec, 0).unwrap();
        let a = build(&g, &spec, 5);
        let b = build(&g, &spec, 5);
        assert_eq!(a.walls.hash(), b.walls.hash());
        assert_eq!(a.floor.quads(), 3);
        assert_eq!(a.ceiling.quads(), 3);
        // A 3-cell corridor shows 3 faces above, 3 below and one at each end.
        assert_eq!(a.walls.quads(), 8);
        assert_eq!(a.props.quads(), 0);
        assert_ne!(
            build(&g, &spec, 6).walls.hash(),
            a.walls.hash(),
            "seed changes colours"
        );
    }

    #[test]
    fn lower_walls_get_tops_and_props_get_geometry() {
        let spec = LevelSpec {
            width: 25,
            height: 25,
            generator: crate::spec::Generator::Scatter,
            wall_density: 0.2,
            height_noise: NoiseSpec {
                amplitude: 1.5,
                frequency: 0.2,
                octaves: 2,
            },
            props: Props {
                pillars: 0.2,
                crates: 0.2,
                lights: 0.2,
            },
            ..Default::default()
        };
        let g = Grid::from_spec(&spec, 3).unwrap();
        let m = build(&g, &spec, 3);
        let tops = m
            .walls
            .normals
            .iter()
            .filter(|n| **n == [0.0, 1.0, 0.0])
            .count()
            / 4;
        assert!(tops > 0, "walls below the ceiling have tops");
        let kinds = |k| g.props().iter().filter(|p| p.kind == k).count();
        let expected =
            5 * (kinds(PropKind::Pillar) + kinds(PropKind::Crate)) + kinds(PropKind::Light);
        assert!(expected > 0);
        assert_eq!(m.props.quads(), expected);
        // Lamps brighten the floor near them.
        let plain = build(
            &g,
            &LevelSpec {
                lighting: crate::spec::Lighting {
                    light_strength: 0.0,
                    ..spec.lighting
                },
                ..spec.clone()
            },
            3,
        );
        let sum = |d: &MeshData| d.colors.iter().map(|c| c[0] + c[1] + c[2]).sum::<f32>();
        assert!(sum(&m.floor) > sum(&plain.floor));
    }
}
