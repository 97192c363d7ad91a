//! Merged meshes for a grid: one for all walls, one floor, one ceiling, coloured per vertex
//! with noise so every place looks a little different (which a world model can learn from).

use bevy::asset::RenderAssetUsages;
use bevy::color::{ColorToComponents, LinearRgba, Srgba};
use bevy::math::{IVec2, Vec3};
use bevy::mesh::{Indices, Mesh, PrimitiveTopology};
use noise::{NoiseFn, Perlin};

use crate::grid::{Fnv1a, Grid};
use crate::spec::{LevelSpec, Rgb};

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

/// The three merged meshes of a level.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelMeshes {
    /// Every visible wall face.
    pub walls: MeshData,
    /// One quad per open cell.
    pub floor: MeshData,
    /// One quad per open cell.
    pub ceiling: MeshData,
}

/// A palette colour (sRGB, as modders pick them) scaled by `k`, as the linear vertex colour
/// the renderer expects.
fn shade(c: Rgb, k: f32) -> [f32; 4] {
    let srgb = Srgba::rgb(
        (c.0 * k).clamp(0.0, 1.0),
        (c.1 * k).clamp(0.0, 1.0),
        (c.2 * k).clamp(0.0, 1.0),
    );
    LinearRgba::from(srgb).to_f32_array()
}

/// Builds the meshes. Lighting is baked into vertex colours (walls facing different ways get
/// different brightness, walls darken towards the floor), so an unlit material suffices —
/// the cheapest thing a software rasteriser can draw.
pub fn build(grid: &Grid, spec: &LevelSpec, seed: u64) -> LevelMeshes {
    let perlin = Perlin::new(seed as u32 ^ (seed >> 32) as u32);
    let var = spec.color_variation;
    let noise = |x: f64, z: f64, freq: f64| perlin.get([x * freq, z * freq]) as f32;
    let cs = spec.cell_size;
    let wh = spec.wall_height;
    let mut walls = MeshData::default();
    let mut floor = MeshData::default();
    let mut ceiling = MeshData::default();

    for z in 0..grid.height() as i32 {
        for x in 0..grid.width() as i32 {
            let cell = IVec2::new(x, z);
            let (x0, z0) = (x as f32 * cs, z as f32 * cs);
            let (x1, z1) = (x0 + cs, z0 + cs);
            if !grid.is_wall(cell) {
                let tile = 1.0
                    + var * noise(x as f64, z as f64, 0.37)
                    + if (x + z) % 2 == 0 { 0.06 } else { -0.06 };
                let f = shade(spec.palette.floor, tile);
                floor.quad(
                    [
                        Vec3::new(x0, 0.0, z1),
                        Vec3::new(x1, 0.0, z1),
                        Vec3::new(x1, 0.0, z0),
                        Vec3::new(x0, 0.0, z0),
                    ],
                    Vec3::Y,
                    [f; 4],
                );
                let c = shade(
                    spec.palette.ceiling,
                    1.0 + 0.5 * var * noise(x as f64 + 50.0, z as f64, 0.29),
                );
                ceiling.quad(
                    [
                        Vec3::new(x0, wh, z0),
                        Vec3::new(x1, wh, z0),
                        Vec3::new(x1, wh, z1),
                        Vec3::new(x0, wh, z1),
                    ],
                    Vec3::NEG_Y,
                    [c; 4],
                );
                continue;
            }
            // Region colour from low-frequency noise, brightness from higher-frequency noise.
            let n = spec.palette.walls.len();
            let region = ((noise(x as f64, z as f64, 0.09) + 1.0) * 0.5 * n as f32) as usize;
            let base = spec.palette.walls[region.min(n - 1)];
            let detail = 1.0 + var * noise(x as f64 + 100.0, z as f64 - 100.0, 0.61);
            // Faces towards open neighbours only; interior faces are never visible.
            let faces: [(IVec2, Vec3, [Vec3; 2], f32); 4] = [
                (
                    IVec2::X,
                    Vec3::X,
                    [Vec3::new(x1, 0.0, z1), Vec3::new(x1, 0.0, z0)],
                    0.92,
                ),
                (
                    IVec2::NEG_X,
                    Vec3::NEG_X,
                    [Vec3::new(x0, 0.0, z0), Vec3::new(x0, 0.0, z1)],
                    0.72,
                ),
                (
                    IVec2::Y,
                    Vec3::Z,
                    [Vec3::new(x0, 0.0, z1), Vec3::new(x1, 0.0, z1)],
                    1.0,
                ),
                (
                    IVec2::NEG_Y,
                    Vec3::NEG_Z,
                    [Vec3::new(x1, 0.0, z0), Vec3::new(x0, 0.0, z0)],
                    0.82,
                ),
            ];
            for (dir, normal, [a, b], light) in faces {
                if grid.is_wall(cell + dir) {
                    continue;
                }
                let top = Vec3::Y * wh;
                let low = shade(base, detail * light * 0.62);
                let high = shade(base, detail * light);
                walls.quad([a, b, b + top, a + top], normal, [low, low, high, high]);
            }
        }
    }
    LevelMeshes {
        walls,
        floor,
        ceiling,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_ne!(
            build(&g, &spec, 6).walls.hash(),
            a.walls.hash(),
            "seed changes colours"
        );
    }
}
