#!/usr/bin/env python3
"""How much of a task level's reward a view can tell: reads a `.wmds` v2 recording
(`mini-dreamer --headless --autopilot random --level arena --no-learning --uncapped
--frames 9000 --record DIR`) and prints

- the share of frames where the goal is in view (goal-coloured pixels: the arena's magenta
  column, sRGB about (195, 75, 176) unlit),
- the share of rewards that are positive when the goal was in view on the tick before and the
  agent walked forward (the reward for arriving at tick t was decided by the frame and action
  of tick t-1),
- the mean squared error of the best prediction from (goal in view, action) alone against
  that of predicting the mean: what a reward head that reads only whether the goal is seen
  could reach, with no memory of where it was.

Needs numpy. Not part of the test suite.

    python3 scripts/reward_ceiling.py DIR/arena-seed0-*.wmds
"""
import json
import struct
import sys
from collections import defaultdict

import numpy as np


def records(path):
    data = open(path, "rb").read()
    if data[:8] != b"MDWMDATA":
        sys.exit(f"{path}: not a .wmds dataset")
    (version,) = struct.unpack("<I", data[8:12])
    if version != 2:
        sys.exit(f"{path}: version {version}; rewards need version 2")
    (header_len,) = struct.unpack("<Q", data[12:20])
    header = json.loads(data[20 : 20 + header_len])
    w, h, a = header["width"], header["height"], header["action_dim"]
    size = 8 + 1 + 4 + 4 * a + w * h * 3
    start = 20 + header_len
    for i in range((len(data) - start) // size):
        r = data[start + i * size : start + (i + 1) * size]
        (reward,) = struct.unpack("<f", r[9:13])
        action = struct.unpack(f"<{a}f", r[13 : 13 + 4 * a])
        pixels = np.frombuffer(r[13 + 4 * a :], dtype=np.uint8).reshape(h, w, 3).astype(int)
        yield reward, action, pixels


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rewards, actions, seen = [], [], []
    for reward, action, px in records(sys.argv[1]):
        goal = (px[:, :, 0] > 180) & (px[:, :, 1] < 100) & (px[:, :, 2] > 150)
        rewards.append(reward)
        actions.append(tuple(np.round(action, 1)))
        seen.append(bool(goal.any()))
    r = np.array(rewards)
    n = len(r)
    forward = np.array([a[0] > 1.0 for a in actions])
    before = np.r_[False, np.array(seen)[:-1]]
    fwd_before = np.r_[False, forward[:-1]]
    m = before & fwd_before
    print(f"{n} ticks; goal in view {np.mean(seen):.1%} of frames")
    print(f"in view and walking forward the tick before: {m.sum()} ticks, reward > 0 in {np.mean(r[m] > 0.01):.1%}")
    groups = defaultdict(list)
    for i in range(1, n):
        groups[(before[i], actions[i - 1])].append(r[i])
    sse = sum(((np.array(g) - np.mean(g)) ** 2).sum() for g in groups.values())
    print(f"MSE of the best guess from (goal in view, action): {sse / (n - 1):.4f} "
          f"vs {r[1:].var():.4f} for the mean ({1 - sse / (n - 1) / r[1:].var():.0%} below)")


if __name__ == "__main__":
    main()
