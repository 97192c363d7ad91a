#!/usr/bin/env bash
# Installs the Debian packages Mini Dreamer needs, only those that are missing.
#   scripts/ensure-system-deps.sh run    # to run the game (Vulkan loader, lavapipe, X11 libs)
#   scripts/ensure-system-deps.sh test   # also Xvfb, for the windowed smoke test
set -euo pipefail

want=(
  libvulkan1           # Vulkan loader that wgpu opens
  mesa-vulkan-drivers  # lavapipe: software Vulkan, so machines without a GPU can render
  libxkbcommon-x11-0   # keyboard input for X11 windows (winit)
  libx11-6 libxcursor1 libxrandr2 libxi6
)
if [[ "${1:-run}" == test ]]; then
  want+=(xvfb xauth)   # a virtual X display for the test that opens a real window
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "mini-dreamer: installing missing system packages: ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "mini-dreamer: not root and no sudo; please run: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/mini-dreamer-apt.log 2>&1; then
  "${sudo[@]}" apt-get update -q >>/tmp/mini-dreamer-apt.log 2>&1
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/mini-dreamer-apt.log 2>&1 || {
    echo "mini-dreamer: apt-get failed; see /tmp/mini-dreamer-apt.log" >&2
    exit 1
  }
fi
echo "mini-dreamer: installed ${missing[*]}" >&2
