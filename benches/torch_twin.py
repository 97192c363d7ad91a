#!/usr/bin/env python3
"""PyTorch twin of the world model the game trains, and of the Python original's network.

`world-model-bench --torch benches/torch_twin.py` runs this script and prints its figures
beside ours, so one command gives the ratio from one run on one machine. The bench first
writes, into `--dir`: the game's config (`config.json`), its weights (`weights.safetensors`),
one batch (`batch.safetensors`), and our loss parts and gradients on that batch with every
stochastic state drawn at its mode, so that the loss is a deterministic function of the
weights and the batch (`ours.json`, `grads.safetensors`).

This script then:
1. builds the same network layer for layer (encoder, RSSM with Dreamer's GRU and unimix
   categorical states, warp decoder with its two shift mixtures, reward and continue heads),
   loads our weights, computes the same loss on the same batch and compares every part and
   every gradient with ours (for both ways of writing the shift mixture in PyTorch);
2. times, on `--threads` threads, a training step of that network as the game trains it
   (loss with sampled states, backward, global-norm clipping, fused Adam, the parts read
   back) and one frame of inference (observe a frame, predict the next), with each way of
   writing the mixture, and reports the faster; then the same for the Python original's
   network (`world-model-bench`'s reference);
3. prints one JSON object on its last line.

Needs only `torch` and `numpy` (`benches/requirements-torch.txt`); the tests never run it.
"""

import argparse
import json
import math
import statistics
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"error: the twin needs torch and numpy ({e}): pip install -r benches/requirements-torch.txt")

REWARD_BINS = 255
SYMLOG_LIMIT = 20.0
STAGES = 4
# Largest safetensors header this script reads: ours are a few kilobytes.
MAX_HEADER = 1 << 24

# Tolerances of the check (float32, different summation orders): each loss part within
# LOSS_RTOL of ours (relative, with an absolute floor for parts near zero), and each
# gradient tensor within GRAD_RTOL of ours in relative L2 norm.
LOSS_RTOL = 1e-4
LOSS_ATOL = 1e-5
GRAD_RTOL = 1e-3


def read_safetensors(path):
    """The tensors of a safetensors file of float32s, as numpy arrays."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        sys.exit(f"error: {path}: header of {n} bytes does not fit the file")
    header = json.loads(data[8 : 8 + n])
    body = memoryview(data)[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"error: {path}: {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"])
        out[name] = arr.copy()
    return out


# ---------------------------------------------------------------- the game's network


def shift_mix_slices(img, weights, radius, vertical):
    """Every pixel of `img` [n, c, h, w] as a mixture of the pixels up to `radius` before
    and after it along rows (down columns when `vertical`), under `weights`
    [n, h / f, w / f, 2r + 1], one per f x f block; weight k takes the pixel k - r places
    back; borders repeat. Our `kernels::shift_mix`, as a sum of 2r + 1 shifted slices."""
    n, c, h, w = img.shape
    f = h // weights.shape[1]
    k = 2 * radius + 1
    wts = weights.repeat_interleave(f, 1).repeat_interleave(f, 2)  # [n, h, w, k]
    if vertical:
        pad = F.pad(img, (0, 0, radius, radius), mode="replicate")
    else:
        pad = F.pad(img, (radius, radius, 0, 0), mode="replicate")
    out = None
    for j in range(k):
        start = 2 * radius - j
        window = pad[:, :, start : start + h, :] if vertical else pad[:, :, :, start : start + w]
        term = window * wts[:, None, :, :, j]
        out = term if out is None else out + term
    return out


def shift_mix_unfold(img, weights, radius, vertical):
    """The same mixture as one product over an unfolded (windowed) view of the padded image."""
    n, c, h, w = img.shape
    f = h // weights.shape[1]
    k = 2 * radius + 1
    # Window position j holds the pixel that weight 2r - j takes.
    wts = weights.repeat_interleave(f, 1).repeat_interleave(f, 2).flip(-1)
    if vertical:
        windows = F.pad(img, (0, 0, radius, radius), mode="replicate").unfold(2, k, 1)
    else:
        windows = F.pad(img, (radius, radius, 0, 0), mode="replicate").unfold(3, k, 1)
    return (windows * wts[:, None]).sum(-1)


# Two ways to write the mixture in PyTorch: the slower of them on this machine would make
# the comparison unfair to PyTorch, so both are checked and timed, and the faster reported.
SHIFT_MIXES = {"slices": shift_mix_slices, "unfold": shift_mix_unfold}

class Gru(nn.Module):
    """Dreamer's GRU: one product for all gates, the update gate biased to keep the state."""

    def __init__(self, inp, size):
        super().__init__()
        self.gates = nn.Linear(inp + size, 3 * size)

    def forward(self, x, h):
        reset, cand, update = self.gates(torch.cat([x, h], 1)).chunk(3, 1)
        reset = torch.sigmoid(reset)
        cand = torch.tanh(reset * cand)
        update = torch.sigmoid(update - 1.0)
        return update * cand + (1.0 - update) * h


class Rssm(nn.Module):
    def __init__(self, cfg, embed):
        super().__init__()
        stoch = cfg["stoch"] * cfg["classes"]
        self.img_in = nn.Linear(stoch + cfg["action_dim"], cfg["hidden"])
        self.gru = Gru(cfg["hidden"], cfg["deter"])
        self.prior_hidden = nn.Linear(cfg["deter"], cfg["hidden"])
        self.prior_out = nn.Linear(cfg["hidden"], stoch)
        self.post_hidden = nn.Linear(cfg["deter"] + embed, cfg["hidden"])
        self.post_out = nn.Linear(cfg["hidden"], stoch)
        self.stoch, self.classes, self.unimix = cfg["stoch"], cfg["classes"], cfg["unimix"]

    def transition(self, h, z, action):
        return self.gru(F.silu(self.img_in(torch.cat([z, action], 1))), h)

    def mixed_logp(self, logits):
        logits = logits.reshape(logits.shape[0], self.stoch, self.classes)
        if self.unimix <= 0:
            return F.log_softmax(logits, 2)
        probs = F.softmax(logits, 2) * (1 - self.unimix) + self.unimix / self.classes
        return probs.log()

    def prior_logp(self, h):
        return self.mixed_logp(self.prior_out(F.silu(self.prior_hidden(h))))

    def post_logp(self, h, embed):
        x = torch.cat([h, embed], 1)
        return self.mixed_logp(self.post_out(F.silu(self.post_hidden(x))))

    def draw(self, logp, sample):
        """One-hot draws with straight-through gradients (Gumbel-max when `sample`)."""
        n, s, c = logp.shape
        scores = logp.detach()
        if sample:
            u = torch.empty_like(scores).uniform_(1e-6, 1 - 1e-6)
            scores = scores - (-u.log()).log()
        one_hot = (scores >= scores.max(2, keepdim=True).values).float()
        probs = logp.exp()
        return (one_hot + probs - probs.detach()).reshape(n, s * c)


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["cnn_depth"]
        top = d << (STAGES - 1)
        self.base = (top, cfg["height"] >> STAGES, cfg["width"] >> STAGES)
        feat = cfg["deter"] + cfg["stoch"] * cfg["classes"]
        self.input = nn.Linear(feat, math.prod(self.base))
        stages, c_in = [], top
        for stage in reversed(range(STAGES)):
            c_out = 3 if stage == 0 else d << (stage - 1)
            stages.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        rx, ry = cfg["warp_radius"]
        self.radius = (rx, ry)
        self.mix = "slices"
        self.motion = nn.Module()
        self.motion.across = nn.Linear(d, 2 * rx + 1)
        self.motion.down = nn.Linear(d, 2 * ry + 1)

    def hidden(self, features):
        x = self.input(features).reshape(features.shape[0], *self.base)
        for stage in self.stages[:-1]:
            x = F.silu(stage(x))
        return x

    def forward_after(self, features, previous):
        hidden = self.hidden(features)
        change = self.stages[-1](hidden)
        n, c, h, w = hidden.shape
        rows = hidden.permute(0, 2, 3, 1).reshape(n * h * w, c)
        across = F.softmax(self.motion.across(rows), 1).reshape(n, h, w, -1)
        down = F.softmax(self.motion.down(rows), 1).reshape(n, h, w, -1)
        mix = SHIFT_MIXES[self.mix]
        moved = mix(previous, across, self.radius[0], False)
        return mix(moved, down, self.radius[1], True) + change


class Heads(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        feat, hid = cfg["deter"] + cfg["stoch"] * cfg["classes"], cfg["hidden"]
        self.reward_hidden = nn.Linear(feat, hid)
        self.reward_out = nn.Linear(hid, REWARD_BINS)
        self.cont_hidden = nn.Linear(feat, hid)
        self.cont_out = nn.Linear(hid, 1)

    def predict(self, features):
        probs = F.softmax(self.reward_out(F.silu(self.reward_hidden(features))), 1)
        bins = torch.linspace(-SYMLOG_LIMIT, SYMLOG_LIMIT, REWARD_BINS)
        x = (probs * bins).sum(1)
        reward = x.sign() * (x.abs().exp() - 1)
        cont = torch.sigmoid(self.cont_out(F.silu(self.cont_hidden(features)))).reshape(-1)
        return reward, cont

    def loss(self, features, reward, cont):
        logits = self.reward_out(F.silu(self.reward_hidden(features)))
        x = (reward.sign() * reward.abs().log1p()).clamp(-SYMLOG_LIMIT, SYMLOG_LIMIT)
        pos = ((x + SYMLOG_LIMIT) / (2 * SYMLOG_LIMIT) * (REWARD_BINS - 1))[:, None]
        below = pos.floor().clamp(max=REWARD_BINS - 2)
        above = (pos - below).clamp(0, 1)
        bins = torch.arange(REWARD_BINS, dtype=torch.float32)[None, :]
        target = (bins == below).float() * (1 - above) + (bins == below + 1).float() * above
        reward_loss = -(target * F.log_softmax(logits, 1)).sum(1).mean()
        logit = self.cont_out(F.silu(self.cont_hidden(features))).reshape(-1)
        cont_loss = -(cont * F.logsigmoid(logit) + (1 - cont) * F.logsigmoid(-logit)).mean()
        return reward_loss, cont_loss


def categorical_kl(logp, logq):
    return (logp.exp() * (logp - logq)).reshape(logp.shape[0], -1).sum(1)


def categorical_entropy(logp):
    return -(logp.exp() * logp).reshape(logp.shape[0], -1).sum(1).mean()


class Sketch(nn.Module):
    """Ours in sketch.rs: the frame redrawn at sketch_side x sketch_side from the features."""

    def __init__(self, cfg):
        super().__init__()
        feat, hid = cfg["deter"] + cfg["stoch"] * cfg["classes"], cfg["hidden"]
        self.side = cfg["sketch_side"]
        self.hidden = nn.Linear(feat, hid)
        self.out = nn.Linear(hid, 3 * self.side * self.side)

    def loss(self, features, frames):
        n, _, h, _ = frames.shape
        target = F.avg_pool2d(frames, h // self.side)
        drawn = self.out(F.silu(self.hidden(features))).reshape(target.shape)
        return (drawn - target).square().sum((1, 2, 3)).mean()


class WorldModel(nn.Module):
    """The game's world model (`WorldModelConfig::default()`: residual warp decoder, MSE)."""

    def __init__(self, cfg):
        super().__init__()
        if not (cfg["residual"] and cfg["warp"] and cfg["recon_loss"] == "mse"):
            sys.exit("error: the twin covers the game's network: residual warp decoder, MSE")
        if cfg["upsample"] != "conv_transpose" or cfg["head_gradients"]:
            sys.exit("error: the twin covers conv_transpose upsampling without head gradients")
        self.cfg = cfg
        self.encoder = nn.Module()
        convs, c_in = [], 3
        for stage in range(STAGES):
            c_out = cfg["cnn_depth"] << stage
            convs.append(nn.Conv2d(c_in, c_out, 4, 2, 1))
            c_in = c_out
        self.encoder.convs = nn.ModuleList(convs)
        embed = c_in * (cfg["width"] >> STAGES) * (cfg["height"] >> STAGES)
        self.rssm = Rssm(cfg, embed)
        self.decoder = Decoder(cfg)
        self.heads = Heads(cfg)
        self.sketch = Sketch(cfg) if cfg.get("sketch_side", 0) else None

    def encode(self, x):
        for conv in self.encoder.convs:
            x = F.silu(conv(x))
        return x.flatten(1)

    def loss(self, batch, sample):
        """Our `WorldModel::loss_with`, term for term: (total, parts[9])."""
        cfg = self.cfg
        obs, actions, first = batch["obs"], batch["actions"], batch["first"]
        b, t, c, hh, ww = obs.shape
        embed = self.encode(obs.reshape(b * t, c, hh, ww)).reshape(b, t, -1)
        keep_all = 1.0 - first
        h = obs.new_zeros(b, cfg["deter"])
        z = obs.new_zeros(b, cfg["stoch"] * cfg["classes"])
        prev_action = obs.new_zeros(b, cfg["action_dim"])
        hs, zs, posts = [], [], []
        for step in range(t):
            keep = keep_all[:, step : step + 1]
            h, z = h * keep, z * keep
            h = self.rssm.transition(h, z, prev_action * keep)
            post = self.rssm.post_logp(h, embed[:, step])
            z = self.rssm.draw(post, sample)
            hs.append(h)
            zs.append(z)
            posts.append(post)
            prev_action = actions[:, step]
        h_all, post = torch.cat(hs, 0), torch.cat(posts, 0)
        prior = self.rssm.prior_logp(h_all)
        kl = categorical_kl(post, prior).detach().mean()
        dyn = categorical_kl(post.detach(), prior).clamp(min=cfg["free_nats"]).mean()
        rep = categorical_kl(post, prior.detach()).clamp(min=cfg["free_nats"]).mean()
        prior_ent = categorical_entropy(prior.detach())
        post_ent = categorical_entropy(post.detach())

        obs_tm = obs.transpose(0, 1).reshape(t * b, c, hh, ww)
        keep_tm = keep_all.transpose(0, 1).reshape(t * b, 1, 1, 1)
        if t == 1:
            previous = obs_tm
        else:
            shifted = torch.cat([obs_tm[:b], obs_tm[: (t - 1) * b]], 0)
            keep = torch.cat([keep_tm.new_zeros(b, 1, 1, 1), keep_tm[b:]], 0)
            previous = shifted * keep + obs_tm * (1 - keep)
        z_all = torch.cat(zs, 0)
        post_features = torch.cat([h_all, z_all], 1)

        def time_major(x):
            return x.transpose(0, 1).reshape(t * b)

        reward_tm, cont_tm = time_major(batch["reward"]), time_major(batch["cont"])
        reward_loss, cont_loss = self.heads.loss(post_features.detach(), reward_tm, cont_tm)
        sketch = self.sketch.loss(post_features, obs_tm) if self.sketch else obs.new_zeros(())
        recon_frames = self.decoder.forward_after(post_features, previous)
        recon = (recon_frames - obs_tm).square().sum((1, 2, 3)).mean()

        pred = obs.new_zeros(())
        if t > 1 and cfg["pred_weight"] > 0:
            n = (t - 1) * b
            zp = self.rssm.draw(prior[b:], sample)
            prior_features = torch.cat([h_all[b:], zp], 1)
            frames = self.decoder.forward_after(prior_features, previous[b:])
            keep = keep_tm.reshape(t * b, 1)[b:]
            err = (frames - obs_tm[b:]).square().sum((1, 2, 3)).reshape(n, 1)
            pred = (err * keep).sum() / keep.sum().clamp(min=1.0)
            r, cl = self.heads.loss(prior_features.detach(), reward_tm[b:], cont_tm[b:])
            reward_loss, cont_loss = reward_loss + r, cont_loss + cl

        total = (
            recon
            + pred * cfg["pred_weight"]
            + dyn * cfg["kl_dyn"]
            + rep * cfg["kl_rep"]
            + reward_loss * cfg["reward_weight"]
            + cont_loss * cfg["cont_weight"]
            + sketch * cfg.get("sketch_weight", 1.0)
        )
        per_pixel = 1.0 / (c * hh * ww)
        parts = torch.stack(
            [
                total.detach(),
                recon.detach() * per_pixel,
                pred.detach() * per_pixel,
                kl,
                prior_ent,
                post_ent,
                reward_loss.detach(),
                cont_loss.detach(),
                sketch.detach() / (3 * max(cfg.get("sketch_side", 0), 1) ** 2),
            ]
        )
        return total, parts


PART_NAMES = [
    "total", "recon", "pred", "kl", "prior_entropy", "post_entropy", "reward", "cont", "sketch"
]


def our_name(name):
    """Our parameter path for a torch one (the decoder's stages are an enum of ours)."""
    if name.startswith("decoder.stages."):
        head, rest = name.rsplit(".", 1)
        return f"{head}.ConvTranspose.{rest}"
    return name


def linear_weights(model):
    return {f"{m}.weight" for m, mod in model.named_modules() if isinstance(mod, nn.Linear)}


def load_ours(model, weights):
    """Our weights into the twin (Burn's linear weights are [in, out], torch's [out, in])."""
    linear = linear_weights(model)
    names = {our_name(n) for n, _ in model.named_parameters()}
    missing, extra = names - set(weights), set(weights) - names
    if missing or extra:
        sys.exit(f"error: weights do not match the twin: missing {sorted(missing)}, extra {sorted(extra)}")
    with torch.no_grad():
        for name, p in model.named_parameters():
            w = torch.from_numpy(weights[our_name(name)])
            if name in linear:
                w = w.t()
            if tuple(w.shape) != tuple(p.shape):
                sys.exit(f"error: {name}: ours {tuple(w.shape)}, twin {tuple(p.shape)}")
            p.copy_(w)


def check(model, batch, ours, our_grads):
    """The twin's loss parts and gradients against ours on the same weights and batch."""
    model.zero_grad()
    total, parts = model.loss(batch, sample=False)
    total.backward()
    parts = parts.tolist()
    loss_rows = []
    ok = True
    for name, theirs in zip(PART_NAMES, parts):
        mine = ours["loss"][name]
        err = abs(theirs - mine)
        good = err <= LOSS_ATOL + LOSS_RTOL * abs(mine)
        ok &= good
        loss_rows.append({"part": name, "ours": mine, "twin": theirs, "ok": good})
    linear = linear_weights(model)
    worst, worst_name, checked = 0.0, None, 0
    for name, p in model.named_parameters():
        g = our_grads.get(our_name(name))
        if g is None:
            continue
        mine = torch.from_numpy(g)
        if name in linear:
            mine = mine.t()
        theirs = p.grad if p.grad is not None else torch.zeros_like(p)
        rel = ((theirs - mine).norm() / mine.norm().clamp(min=1e-12)).item()
        checked += 1
        if rel > worst:
            worst, worst_name = rel, name
    ok &= worst <= GRAD_RTOL and checked == len(list(model.parameters()))
    return {
        "ok": ok,
        "loss": loss_rows,
        "loss_rtol": LOSS_RTOL,
        "grad_rtol": GRAD_RTOL,
        "gradients_checked": checked,
        "worst_gradient": {"param": worst_name, "relative_error": worst},
    }


def median_ms(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, iters)):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def time_world_model(model, batch, cfg, warmup, iters):
    """A training step as the game's learner takes it, and one frame of inference."""
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], eps=cfg["adam_eps"], fused=True)

    def step():
        opt.zero_grad(set_to_none=True)
        total, parts = model.loss(batch, sample=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        parts.tolist()

    train_ms = median_ms(step, warmup, iters)

    obs = batch["obs"][0]  # [t, 3, h, w]
    actions = batch["actions"][0]  # [t, action_dim]
    state = {"h": None, "z": None, "i": 0}

    @torch.inference_mode()
    def infer():
        # Our Predictor: observe the frame (transition from the last filtered state, encode,
        # posterior), then predict the next frame and its reward with the prior alone.
        i = state["i"] % obs.shape[0]
        frame, action = obs[i : i + 1], actions[i : i + 1]
        if state["h"] is None:
            h = torch.zeros(1, cfg["deter"])
            z = torch.zeros(1, cfg["stoch"] * cfg["classes"])
            h = model.rssm.transition(h, z, torch.zeros(1, cfg["action_dim"]))
        else:
            h = model.rssm.transition(state["h"], state["z"], action)
        z = model.rssm.draw(model.rssm.post_logp(h, model.encode(frame)), sample=False)
        h2 = model.rssm.transition(h, z, action)
        z2 = model.rssm.draw(model.rssm.prior_logp(h2), sample=False)
        features = torch.cat([h2, z2], 1)
        nxt = model.decoder.forward_after(features, frame)
        reward, cont = model.heads.predict(features)
        ((nxt + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        reward.tolist(), cont.tolist()
        state["h"], state["z"], state["i"] = h, z, i + 1

    infer_ms = median_ms(infer, warmup, iters * 2)
    return train_ms, infer_ms


# ---------------------------------------------------------------- the Python original


class Reference(nn.Module):
    """The network of the Python original, layer for layer (the bench's `reference.rs`)."""

    def __init__(self):
        super().__init__()
        flat = 128 * 6 * 8
        self.enc = nn.ModuleList([nn.Conv2d(i, o, 4, 2, 1) for i, o in [(3, 32), (32, 64), (64, 128)]])
        self.mu = nn.Linear(flat, 64)
        self.logvar = nn.Linear(flat, 64)
        self.gru = nn.GRUCell(64 + 4, 256)
        self.dec_in = nn.Linear(320, flat)
        self.dec = nn.ModuleList(
            [nn.ConvTranspose2d(i, o, 4, 2, 1) for i, o in [(128, 64), (64, 32), (32, 3)]]
        )

    def forward(self, obs, action, h):
        x = obs
        for c in self.enc:
            x = F.elu(c(x))
        x = x.flatten(1)
        mu, logvar = self.mu(x), self.logvar(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        h = self.gru(torch.cat([z, action], 1), h)
        y = self.dec_in(torch.cat([h, z], 1)).reshape(-1, 128, 6, 8)
        for i, d in enumerate(self.dec):
            y = d(y)
            y = F.elu(y) if i + 1 < len(self.dec) else torch.tanh(y)
        return y, mu, logvar, h

    def loss(self, obs, action, nxt):
        h = obs.new_zeros(obs.shape[0], 256)
        pred, mu, logvar, _ = self(obs, action, h)
        l1 = (pred - nxt).abs().mean()
        kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum() / obs.shape[0]
        return l1 + 0.03 * kl


def time_reference(warmup, iters):
    torch.manual_seed(0)
    model = Reference()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8, fused=True)
    obs = torch.rand(16, 3, 48, 64) * 2 - 1
    nxt = torch.rand(16, 3, 48, 64) * 2 - 1
    act = torch.rand(16, 4) * 2 - 1

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.loss(obs, act, nxt)
        loss.backward()
        opt.step()
        loss.item()

    train_ms = median_ms(step, warmup, iters)
    obs1, act1 = obs[:1], torch.zeros(1, 4)
    state = {"h": torch.zeros(1, 256)}

    @torch.inference_mode()
    def infer():
        pred, _, _, h = model(obs1, act1, state["h"])
        state["h"] = h
        pred.numpy()

    infer_ms = median_ms(infer, warmup, iters * 2)
    return train_ms, infer_ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="the folder world-model-bench exported")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=15)
    ap.add_argument("--check-only", action="store_true", help="compare with ours, time nothing")
    args = ap.parse_args()
    if not 1 <= args.threads <= 1024 or not 0 <= args.warmup <= 10_000 or not 1 <= args.iters <= 10_000:
        sys.exit("error: --threads must be 1..1024, --warmup 0..10000, --iters 1..10000")
    torch.set_num_threads(args.threads)
    d = args.dir
    try:
        with open(f"{d}/config.json") as f:
            cfg = json.load(f)
        with open(f"{d}/ours.json") as f:
            ours = json.load(f)
        weights = read_safetensors(f"{d}/weights.safetensors")
        grads = read_safetensors(f"{d}/grads.safetensors")
        batch = {k: torch.from_numpy(v) for k, v in read_safetensors(f"{d}/batch.safetensors").items()}
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"error: cannot read the bench's export in {d}: {e}")

    model = WorldModel(cfg)
    load_ours(model, weights)
    checks = {}
    for mix in SHIFT_MIXES:
        model.decoder.mix = mix
        checks[mix] = check(model, batch, ours, grads)
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "check": {
            "ok": all(c["ok"] for c in checks.values()),
            "loss": checks["slices"]["loss"],
            "loss_rtol": LOSS_RTOL,
            "grad_rtol": GRAD_RTOL,
            "gradients_checked": min(c["gradients_checked"] for c in checks.values()),
            "worst_gradient": max(
                (c["worst_gradient"] for c in checks.values()),
                key=lambda g: g["relative_error"],
            ),
            "by_mix": {m: c["ok"] for m, c in checks.items()},
        },
    }
    if not args.check_only:
        by_mix = {}
        for mix in SHIFT_MIXES:
            model.decoder.mix = mix
            train_ms, infer_ms = time_world_model(model, batch, cfg, args.warmup, args.iters)
            by_mix[mix] = {"train_step_ms": train_ms, "infer_ms": infer_ms}
        best_train = min(by_mix, key=lambda m: by_mix[m]["train_step_ms"])
        best_infer = min(by_mix, key=lambda m: by_mix[m]["infer_ms"])
        result["game"] = {
            "train_step_ms": by_mix[best_train]["train_step_ms"],
            "infer_ms": by_mix[best_infer]["infer_ms"],
            "train_mix": best_train,
            "infer_mix": best_infer,
            "by_mix": by_mix,
        }
        ref_train, ref_infer = time_reference(args.warmup, args.iters)
        result["reference"] = {"train_step_ms": ref_train, "infer_ms": ref_infer}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
