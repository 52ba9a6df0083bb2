#!/usr/bin/env bash
# Builds the controller image without Docker or a registry: a Debian base made
# once with mmdebstrap from this machine's own apt sources (cached outside the
# repository), then `buildah bud` of the Dockerfile on top of it. podman runs
# it (tests/e2e/test_image.py) with runc and a private containers.conf.
#
#   hack/image.sh check    exit 0 if images can be built here, else print why, exit 3
#   hack/image.sh build    build (or reuse) the image; prints its name on stdout
#   hack/image.sh env      print the CONTAINERS_CONF=... line podman/buildah need
#
#   IMAGE_CACHE=...  cache root (default ~/.cache/awspca-issuer/image)
#
# Users with a registry keep the default base (the official slim Python image):
# `docker build .` works unchanged. The pip configuration and CA bundle the
# build needs are generated from this host's (hack/image_pipconf.py) into a
# temporary directory and passed as build secrets: never in the repo or image.
# Exit codes: 0 ok, 3 cannot build on this machine (one line on stderr), else error.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/awspca-issuer/image}
IMAGE=${IMAGE:-localhost/awspca-issuer:dev}
TOOLS=(mmdebstrap buildah podman runc)
PACKAGES=(mmdebstrap buildah podman runc uidmap)
# What the base holds; part of its cache key, with the Debian suite.
BASE_INCLUDE=python3,python3-venv,python-is-python3,passwd,ca-certificates,python3-wheel-whl
# Like the official image: pip, setuptools and wheel in the system Python (from
# Debian's own wheels, offline), no PEP 668 marker, no apt lists or caches.
BASE_HOOK='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED && chroot "$1" env -i PATH=/usr/bin:/bin sh -c "python3 \$(ls /usr/share/python-wheels/pip-*.whl)/pip install --quiet --root-user-action=ignore --no-warn-script-location --no-index --no-compile --find-links /usr/share/python-wheels pip setuptools wheel" && rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*'
# No documentation, manual pages or translations (licences stay), as slim images
# do; merged /usr set up by mmdebstrap's hook, not the usrmerge package (and perl).
BASE_OPTS=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
BASE_CHANGES=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'CMD ["python3"]')

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cannot() { echo "image: cannot build here: $*" >&2; exit 3; }

containers_conf() {
  mkdir -p "$CACHE"
  # runc: crun refuses hybrid cgroup setups; fixed ulimits: setting them from
  # the host's needs CAP_SYS_RESOURCE, which sandboxes may lack.
  cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
  export CONTAINERS_CONF="$CACHE/containers.conf"
}

check() { # mmdebstrap --mode=root and rootful podman: root, Debian's apt and its sources
  local missing=() t
  [ "$(id -u)" = 0 ] || cannot "not root (the base is made with mmdebstrap --mode=root, podman runs rootful)"
  [ -e /etc/apt/sources.list.d/debian.sources ] || [ -e /etc/apt/sources.list ] \
    || cannot "no apt sources to make a Debian base from"
  for t in "${TOOLS[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || command -v apt-get >/dev/null \
    || cannot "no apt-get to install ${missing[*]}"
}

install_tools() {
  local t
  for t in "${TOOLS[@]}"; do
    command -v "$t" >/dev/null && continue
    log "installing ${PACKAGES[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
    return
  done
}

suite() { . /etc/os-release && echo "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"; }

sources() {
  if [ -e /etc/apt/sources.list.d/debian.sources ]; then
    echo /etc/apt/sources.list.d/debian.sources
  else
    echo /etc/apt/sources.list
  fi
}

base() { # prints the base image's name; builds it once per (suite, recipe)
  local s key ref tar start
  s=$(suite)
  key=$(printf '%s\n' "$s" "$BASE_INCLUDE" "$BASE_HOOK" "${BASE_OPTS[@]}" "${BASE_CHANGES[@]}" | sha256sum | cut -c1-12)
  ref="localhost/awspca-issuer-base:$s-$key"
  if podman image exists "$ref"; then echo "$ref"; return; fi
  tar="$CACHE/base-$s-$key.tar"
  if [ ! -s "$tar" ]; then
    start=$(date +%s)
    log "base: mmdebstrap $s (minbase + python3) from $(sources)"
    nice mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
      --include="$BASE_INCLUDE" "${BASE_OPTS[@]}" --customize-hook="$BASE_HOOK" \
      "$s" "$tar.partial" "$(sources)" >"$CACHE/base.log" 2>&1 \
      || { tail -n 30 "$CACHE/base.log" >&2; echo "image: base build failed (log: $CACHE/base.log)" >&2; exit 1; }
    mv "$tar.partial" "$tar"
    find "$CACHE" -maxdepth 1 -name 'base-*.tar' ! -name "${tar##*/}" -delete  # older recipes
    log "base: built in $(( $(date +%s) - start ))s -> $tar"
  fi
  podman import --quiet "${BASE_CHANGES[@]}" "$tar" "$ref" >/dev/null
  echo "$ref"
}

build() {
  local base_ref start version revision secrets=()
  check
  install_tools
  containers_conf
  base_ref=$(base)
  tmp=$(mktemp -d)  # global: the EXIT trap removes it
  trap 'rm -rf "$tmp"' EXIT
  python3 "$HERE/image_pipconf.py" "$tmp"
  secrets+=(--secret "id=pip.conf,src=$tmp/pip.conf")
  [ -e "$tmp/ca.crt" ] && secrets+=(--secret "id=ca.crt,src=$tmp/ca.crt")
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)
  revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
  start=$(date +%s)
  log "buildah bud on $base_ref"
  nice buildah bud --quiet --layers --isolation chroot --network host \
    "${secrets[@]}" \
    --build-arg "PYTHON_IMAGE=$base_ref" \
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    --tag "$IMAGE" --file "$ROOT/Dockerfile" "$ROOT" >&2
  log "built $IMAGE in $(( $(date +%s) - start ))s ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
  echo "$IMAGE"
}

case "${1:-build}" in
  check) check ;;
  build) build ;;
  env) containers_conf; echo "CONTAINERS_CONF=$CONTAINERS_CONF" ;;
  *) echo "usage: $0 [check|build|env]" >&2; exit 2 ;;
esac
