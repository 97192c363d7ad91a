//! The PyTorch twin of the game's network (`benches/torch_twin.py`): what the bench hands it
//! (the game config, its weights, one batch, and our loss and gradients on that batch with
//! the stochastic states drawn at their mode, which makes the loss deterministic), and running
//! it. The twin checks that it computes the same loss and gradients, then times its own
//! training step and inference on two threads; the bench prints those figures beside ours.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use world_model::model::Batch;
use world_model::rssm::Draw;
use world_model::{LossParts, WorldModel, WorldModelConfig, synthetic};

/// Most bytes of the JSON the twin prints (its figures are a few hundred).
const MAX_TWIN_OUTPUT: usize = 1 << 20;

/// A named float tensor, as safetensors stores it.
struct Named {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

fn named<const D: usize>(name: impl Into<String>, t: &Tensor<D>) -> Named {
    Named {
        name: name.into(),
        shape: t.dims().to_vec(),
        values: t
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("float tensor"),
    }
}

/// Writes `tensors` as one safetensors file (little-endian f32), the format PyTorch users
/// read weights from; the twin reads it with a dozen lines of numpy.
fn write_safetensors(path: &Path, tensors: &[Named]) -> std::io::Result<()> {
    let mut header = serde_json::Map::new();
    let mut at = 0usize;
    for t in tensors {
        let len = t.values.len() * 4;
        header.insert(
            t.name.clone(),
            json!({"dtype": "F32", "shape": t.shape, "data_offsets": [at, at + len]}),
        );
        at += len;
    }
    let mut head = Value::Object(header).to_string().into_bytes();
    while !head.len().is_multiple_of(8) {
        head.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + head.len() + at);
    bytes.extend_from_slice(&(head.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&head);
    for t in tensors {
        for v in &t.values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    fs::write(path, bytes)
}

/// Every float parameter of a module with its dotted path (`encoder.convs.0.weight`) and id.
#[derive(Default)]
struct Paths {
    stack: Vec<String>,
    found: Vec<(String, ParamId, Named)>,
}

impl ModuleVisitor for Paths {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.stack.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.stack.join(".");
        let t = named(path.clone(), &param.val());
        self.found.push((path, param.id, t));
    }
}

/// Adds uniform noise to every weight: a fresh model has zero layers (the residual output,
/// the warp's move weights), whose gradients alone would leave parts of the twin unchecked.
struct Jitter(f32);

impl ModuleMapper for Jitter {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // A new leaf under the same id, so the gradients are the parameter's own.
        let id = param.id;
        let t = param.val();
        let noise = t.random_like(Distribution::Uniform(-1.0, 1.0));
        Param::initialized(id, (t + noise.mul_scalar(self.0)).detach().require_grad())
    }
}

/// A batch of the synthetic world's frames with every mask exercised: episodes that start
/// and end inside the sequences, rewards of both signs.
pub(crate) fn check_batch(cfg: &WorldModelConfig, device: &Device) -> Batch {
    let (b, t) = (cfg.batch, cfg.seq_len);
    let steps = synthetic::record(cfg.width, b, t, 11);
    let mut rng = StdRng::seed_from_u64(5);
    let mut obs = Vec::with_capacity(b * t * cfg.frame_bytes());
    let mut actions = Vec::with_capacity(b * t * cfg.action_dim);
    let (mut first, mut reward, mut cont) = (vec![], vec![], vec![]);
    for (i, s) in steps.iter().enumerate() {
        // Planar RGB in [-0.5, 0.5], as the replay buffer makes it.
        for ch in 0..3 {
            for px in s.frame.rgb.chunks_exact(3) {
                obs.push(px[ch] as f32 / 255.0 - 0.5);
            }
        }
        actions.extend((0..cfg.action_dim).map(|_| rng.random_range(-1.0f32..=1.0)));
        let step = i % t;
        first.push(if step == 0 || rng.random_range(0..6) == 0 {
            1.0
        } else {
            0.0
        });
        reward.push(rng.random_range(-1.0f32..=2.0));
        cont.push(if rng.random_range(0..5) == 0 {
            0.0
        } else {
            1.0
        });
    }
    let f =
        |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), device);
    Batch {
        obs: Tensor::from_data(
            TensorData::new(obs, [b, t, 3, cfg.height, cfg.width]),
            device,
        ),
        actions: Tensor::from_data(TensorData::new(actions, [b, t, cfg.action_dim]), device),
        first: f(first, [b, t]),
        reward: f(reward, [b, t]),
        cont: f(cont, [b, t]),
    }
}

/// Writes what the twin reads into `dir`: `config.json`, `weights.safetensors`,
/// `batch.safetensors`, `grads.safetensors` and `ours.json` (our loss parts, modal draws).
pub fn export(dir: &Path, cfg: &WorldModelConfig, device: &Device) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let model = WorldModel::new(cfg, &ad).map(&mut Jitter(0.02));
    let batch = check_batch(cfg, &ad);
    let out = model.loss_with(cfg, &batch, Draw::Mode);
    let parts = LossParts::read(&out);
    let grads = GradientsParams::from_grads(out.total.backward(), &model);
    let mut paths = Paths::default();
    model.visit(&mut paths);
    let mut weights = Vec::new();
    let mut grad_tensors = Vec::new();
    for (path, id, t) in paths.found {
        let g = match t.shape.len() {
            1 => grads.get::<1>(id).map(|g| named(path.clone(), &g)),
            2 => grads.get::<2>(id).map(|g| named(path.clone(), &g)),
            4 => grads.get::<4>(id).map(|g| named(path.clone(), &g)),
            _ => None,
        };
        grad_tensors.extend(g);
        weights.push(t);
    }
    fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(cfg).expect("config serialises"),
    )?;
    write_safetensors(&dir.join("weights.safetensors"), &weights)?;
    write_safetensors(&dir.join("grads.safetensors"), &grad_tensors)?;
    write_safetensors(
        &dir.join("batch.safetensors"),
        &[
            named("obs", &batch.obs),
            named("actions", &batch.actions),
            named("first", &batch.first),
            named("reward", &batch.reward),
            named("cont", &batch.cont),
        ],
    )?;
    fs::write(
        dir.join("ours.json"),
        serde_json::to_string_pretty(&json!({ "loss": parts })).expect("parts serialise"),
    )
}

/// Where the export goes: a fresh folder under the system's temporary directory.
pub fn export_dir() -> PathBuf {
    std::env::temp_dir().join(format!("world-model-twin-{}", std::process::id()))
}

/// Runs the twin on an export and returns the JSON object it prints last, or one line saying
/// why there is none.
pub fn run(
    python: &str,
    script: &Path,
    dir: &Path,
    warmup: usize,
    iters: usize,
) -> Result<Value, String> {
    let out = Command::new(python)
        .arg(script)
        .arg("--dir")
        .arg(dir)
        .args(["--threads", "2"])
        .args(["--warmup", &warmup.to_string()])
        .args(["--iters", &iters.to_string()])
        .output()
        .map_err(|e| format!("cannot run {python} {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(MAX_TWIN_OUTPUT)]);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("no message");
        return Err(format!(
            "{} exited with {}: {last}",
            script.display(),
            out.status
        ));
    }
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    line.and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("{} printed no JSON object", script.display()))
}
