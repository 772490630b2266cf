#!/bin/sh
# Installs the Debian 12 runtime libraries of one ctflow image, and nothing else: the packages
# that own the shared libraries each binary links (found with `objdump -p BINARY | grep NEEDED`
# and `dpkg -S` on a Debian 12 build; tests/deploy/check_docker.py compares them with the
# binaries in build/ when they exist). Their own dependencies come with them.
#   runtime-packages.sh server   # ctflow: server, CLI, dashboard
#   runtime-packages.sh task     # ctflow-task: libtorch, faiss (static), OpenBLAS
#   runtime-packages.sh serve    # ctflow-serve: as task, plus Boost.URL
#   runtime-packages.sh --list task   # prints the packages, installs nothing
set -eu

# ctflow: Boost.JSON/URL 1.81, libpqxx 6.4 (libpq), libcctz, libyaml, OpenSSL, fmt; tzdata for
# cron time zones; ca-certificates for HTTPS (the Kubernetes API server's CA comes from the
# service account, a database with sslmode=verify-full may need the system's).
server="libboost-json1.81.0 libboost-url1.81.0 libpqxx-6.4 libcctz2 libyaml-0-2 libssl3 libfmt9
  tzdata ca-certificates"
# ctflow-task: libtorch 1.13 (CPU), OpenMP, OpenBLAS as libblas.so.3 (faiss is linked
# statically from libfaiss.a), zlib, Boost.JSON, OpenSSL, fmt.
task="libtorch1.13 libgomp1 libopenblas0-pthread zlib1g libboost-json1.81.0 libssl3 libfmt9"
# ctflow-serve is being written: until its binary exists, this is the task set plus Boost.URL
# (Beast is header-only); compare with `objdump -p build/ctflow-serve | grep NEEDED` once built.
serve="$task libboost-url1.81.0"

list=
if [ "${1:-}" = --list ]; then list=1; shift; fi
case "${1:-}" in
  server) pkgs=$server ;;
  task) pkgs=$task ;;
  serve) pkgs=$serve ;;
  *) echo "usage: $0 [--list] server|task|serve" >&2; exit 2 ;;
esac
if [ -n "$list" ]; then
  # shellcheck disable=SC2086
  printf '%s\n' $pkgs
  exit 0
fi

apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs
if [ "$1" != server ]; then
  # libtorch1.13 depends on "libblas3 | libblas.so.3": make sure OpenBLAS, not the reference
  # BLAS, answers libblas.so.3 (BUILD-NOTES: 8 s instead of 373 s for the MNIST kNN).
  triplet="$(uname -m)-linux-gnu"
  for lib in libblas.so.3 liblapack.so.3; do
    update-alternatives --set "$lib-$triplet" "/usr/lib/$triplet/openblas-pthread/$lib"
  done
fi
apt-get clean
rm -rf /var/lib/apt/lists/*
