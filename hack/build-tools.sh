#!/usr/bin/env bash
# Builds the upstream components the tests run for real (kube-apiserver,
# kubectl, etcd, helm, a cert-manager controller, prometheus, promtool; and the
# Go issuer's v1.12 module source as the reference; istiod for the Istio story) from
# the Go module proxy, once, into a cache outside the repository keyed by
# component and version. Idempotent: a component whose stamp exists is skipped.
#
#   hack/build-tools.sh [component ...]     (default: all but goissuer)
#   goissuer: the Go issuer itself, built only for `make bench`
#   TOOLS_DIR=...  cache root (default ~/.cache/awspca-issuer/tools)
#   BUILD_JOBS=N   components built at once (default: what memory allows,
#                  one per 3 GiB available, at most 4; a Go link needs 2+ GiB)
#
# Components are independent: up to BUILD_JOBS build concurrently, each into
# its own temp dir, and a progress line names the ones still building every
# 30 s. Exits non-zero naming every component whose build failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"
TOOLS_DIR=${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/awspca-issuer/tools}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
mkdir -p "$TOOLS_DIR"

log() { printf '[build-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

dir_of() { echo "$TOOLS_DIR/$1-$2"; }

# run_build NAME VERSION FUNCTION: skip when stamped, else build into a temp
# dir and move it in place, so an interrupted build never looks finished.
run_build() {
  local name=$1 version=$2 fn=$3 dest tmp start
  dest=$(dir_of "$name" "$version")
  if [ -f "$dest/.built" ]; then
    log "$name $version: cached in $dest"
    return 0
  fi
  # One build of a component at a time, even across concurrent runs of this
  # script (two checkouts, a test and a demo): the second waits, then finds it built.
  exec {lock}>"$dest.lock"
  if ! flock -n "$lock"; then
    log "$name $version: another run is building it; waiting"
    flock "$lock"
  fi
  if [ -f "$dest/.built" ]; then
    log "$name $version: built by another run in $dest"
    return 0
  fi
  tmp="$dest.partial"
  rm -rf "$tmp"; mkdir -p "$tmp/bin" "$tmp/src"
  start=$(date +%s)
  log "$name $version: building (this takes minutes on a cold machine)"
  if ! ( cd "$tmp/src" && "$fn" "$version" "$tmp" ) >"$tmp/build.log" 2>&1; then
    log "$name $version: BUILD FAILED; last lines of $tmp/build.log:"
    tail -n 30 "$tmp/build.log" >&2
    echo "build of component '$name' failed (log: $tmp/build.log)" >&2
    exit 1
  fi
  rm -rf "$tmp/src" "$dest"
  touch "$tmp/.built"
  mv "$tmp" "$dest"
  log "$name $version: built in $(( $(date +%s) - start ))s -> $dest/bin"
}

wrapper_module() { # NAME: a throwaway module that only requires what it builds
  go mod init "local/$1" >/dev/null 2>&1
}

build_kubernetes() { # kube-apiserver + kubectl
  local v=$1 out=$2 gomod minor ldf m
  wrapper_module k8sbuild
  gomod=$(go mod download -json "k8s.io/kubernetes@v$v" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with a replace
  # to ./staging; point each at its published v0.X.Y instead.
  for m in $(awk '$1 ~ /^k8s\.io\// && $2=="v0.0.0" {print $1}' "$gomod"); do
    go mod edit -replace="$m=$m@v0.${v#1.}"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$v" "k8s.io/kubernetes/cmd/kubectl@v$v"
  minor=$(cut -d. -f2 <<<"$v")
  ldf="-s -w"
  for m in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $m.gitVersion=v$v -X $m.gitMajor=1 -X $m.gitMinor=$minor -X $m.gitTreeState=clean"
  done
  go build -trimpath -pgo=off -ldflags "$ldf" -o "$out/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
  local v=$1 out=$2
  wrapper_module etcdbuild
  go get "go.etcd.io/etcd/server/v3@v$v"
  go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
}

build_helm() {
  local v=$1 out=$2
  GOBIN="$out/bin" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$v" "helm.sh/helm/v3/cmd/helm@v$v"
}

build_cert_manager() { # our small main over cert-manager's pkg/controller + its CRDs
  local v=${1%-*} out=$2 dir
  wrapper_module cmctrl
  cp "$HERE/cmctrl/main.go" .
  go get "github.com/cert-manager/cert-manager@v$v"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$out/bin/cm-controller" .
  dir=$(go mod download -json "github.com/cert-manager/cert-manager@v$v" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$out/crds"
  cp "$dir"/deploy/crds/*.yaml "$out/crds/"
  chmod u+w "$out"/crds/*.yaml
  ls "$out/crds" | grep -q certificaterequests || { echo "no CertificateRequest CRD in $dir/deploy/crds"; return 1; }
}

build_prometheus() { # prometheus + promtool, without the web UI assets
  local v=$1 out=$2
  wrapper_module prombuild
  go get "github.com/prometheus/prometheus@v$v"
  go build -trimpath -ldflags "-s -w" -o "$out/bin/" \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
}

build_upstream() { # the Go issuer's module source: CRDs, chart, e2e suite (no build)
  local v=$1 out=$2 dir
  dir=$(GOTOOLCHAIN=$UPSTREAM_GOTOOLCHAIN go mod download -json \
    "github.com/cert-manager/aws-privateca-issuer@v$v" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  cp -r "$dir" "$out/module"
  chmod -R u+w "$out/module"
  test -f "$out/module/config/crd/bases/awspca.cert-manager.io_awspcaissuers.yaml"
}

build_upstream_e2e() { # the Go issuer's godog e2e suite as a test binary + its features
  local v=$1 out=$2 dir
  dir=$(GOTOOLCHAIN=$UPSTREAM_GOTOOLCHAIN go mod download -json \
    "github.com/cert-manager/aws-privateca-issuer@v$v" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  cp -r "$dir" module && chmod -R u+w module
  (cd module && GOTOOLCHAIN=$UPSTREAM_GOTOOLCHAIN go test -c -trimpath \
    -ldflags "-s -w" -o "$out/bin/upstream-e2e.test" ./e2e)
  cp -r module/e2e/features "$out/features"
  test -x "$out/bin/upstream-e2e.test"
}

build_istiod() { # istio's control plane (pilot-discovery): its CA signs workload certificates
  local v=$1 out=$2
  GOBIN="$out/bin" go install -trimpath -ldflags "-s -w" "istio.io/istio/pilot/cmd/pilot-discovery@v$v"
}

build_goissuer() { # the Go issuer's manager binary, for `make bench` only (not in the default list)
  local v=$1 out=$2 dir
  dir=$(GOTOOLCHAIN=$UPSTREAM_GOTOOLCHAIN go mod download -json \
    "github.com/cert-manager/aws-privateca-issuer@v$v" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
  cp -r "$dir" module && chmod -R u+w module
  (cd module && GOTOOLCHAIN=$UPSTREAM_GOTOOLCHAIN go build -trimpath -ldflags "-s -w" \
    -o "$out/bin/aws-privateca-issuer" .)
}

build_component() { # COMPONENT: its run_build line
  case $1 in
    etcd) run_build etcd "$ETCD_VERSION" build_etcd ;;
    kubernetes) run_build kubernetes "$K8S_VERSION" build_kubernetes ;;
    helm) run_build helm "$HELM_VERSION" build_helm ;;
    cert-manager) # keyed on our main.go too, so editing it rebuilds
      run_build cert-manager "$CERT_MANAGER_VERSION-$(sha1sum "$HERE/cmctrl/main.go" | cut -c1-8)" build_cert_manager ;;
    prometheus) run_build prometheus "$PROMETHEUS_VERSION" build_prometheus ;;
    upstream) run_build upstream "$UPSTREAM_VERSION" build_upstream ;;
    upstream-e2e) run_build upstream-e2e "$UPSTREAM_VERSION" build_upstream_e2e ;;
    istiod) run_build istiod "$ISTIO_VERSION" build_istiod ;;
    goissuer) run_build goissuer "$UPSTREAM_VERSION" build_goissuer ;;
  esac
}

default_jobs() { # one job per 3 GiB of available memory, 1..4
  local kib
  kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
  local n=$(( ${kib:-0} / (3 * 1024 * 1024) ))
  (( n < 1 )) && n=1
  (( n > 4 )) && n=4
  echo "$n"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd kubernetes helm cert-manager prometheus upstream upstream-e2e istiod)
for c in "${want[@]}"; do
  case $c in
    etcd|kubernetes|helm|cert-manager|prometheus|upstream|upstream-e2e|istiod|goissuer) ;;
    *) echo "unknown component '$c'" >&2; exit 2 ;;
  esac
done
jobs_max=${BUILD_JOBS:-$(default_jobs)}
[ "${#want[@]}" -le 1 ] || log "building ${want[*]}, up to $jobs_max at once"

declare -A pid_of=() since=()
failed=()
queue=("${want[@]}")
last_report=$(date +%s)
while [ ${#queue[@]} -gt 0 ] || [ ${#pid_of[@]} -gt 0 ]; do
  while [ ${#queue[@]} -gt 0 ] && [ ${#pid_of[@]} -lt "$jobs_max" ]; do
    c=${queue[0]}; queue=("${queue[@]:1}")
    build_component "$c" &
    pid_of[$c]=$!; since[$c]=$(date +%s)
  done
  sleep 1
  for c in "${!pid_of[@]}"; do
    if ! kill -0 "${pid_of[$c]}" 2>/dev/null; then
      wait "${pid_of[$c]}" || failed+=("$c")
      unset "pid_of[$c]"
    fi
  done
  now=$(date +%s)
  if [ ${#pid_of[@]} -gt 0 ] && (( now - last_report >= 30 )); then
    line=""
    for c in "${!pid_of[@]}"; do line+=" $c ($(( now - since[$c] ))s)"; done
    log "still building:$line${queue[*]:+; waiting: ${queue[*]}}"
    last_report=$now
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "build failed for: ${failed[*]}" >&2
  exit 1
fi
log "all requested components ready under $TOOLS_DIR"
