#!/usr/bin/env bash
# One idempotent set-up for a fresh machine of our kind (Debian/Ubuntu, x86_64 or arm64):
# everything `npm test` and `npm run sandbox` need, and nothing already there.
#
#   - Debian packages listed in .ci/apt-packages.txt (Prometheus, buildah, a local OCI
#     registry, skopeo, openssl), with apt-get: as root, or through sudo.
#   - moto's server (the AWS API emulator of the integration tests), pinned, with pip,
#     when no moto_server is on PATH.
#   - Terraform and its AWS provider mirror are checked, not installed: say where to get them.
#   - npm ci.
#
# Run it again at any time: each part is skipped when already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# 1. Debian packages.
mapfile -t packages < <(grep -v '^\s*#' .ci/apt-packages.txt | grep -v '^\s*$' || true)
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
else
  fail "this is not a Debian-like system (no dpkg). Install these by hand, then run npm ci: ${packages[*]}"
fi
if ((${#missing[@]} > 0)); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "not root and no sudo: ask an administrator to install ${missing[*]} (apt-get install --no-install-recommends), then run this again."
    sudo="sudo"
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages already installed: ${packages[*]}"
fi

# 2. moto's server, pinned to the version the tests were written against.
MOTO_VERSION="5.2.1"
if command -v moto_server >/dev/null 2>&1 || python3 -c 'import moto.server' 2>/dev/null; then
  say "moto_server already installed"
else
  command -v python3 >/dev/null 2>&1 || fail "python3 is missing: install it (apt-get install python3 python3-pip), then run this again."
  say "installing moto[server]==${MOTO_VERSION}"
  if command -v pipx >/dev/null 2>&1; then
    pipx install "moto[server]==${MOTO_VERSION}"
  else
    python3 -m pip install --user "moto[server]==${MOTO_VERSION}" \
      || fail "pip could not install moto (an externally managed Python?): install pipx (apt-get install pipx), then run this again."
  fi
fi

# 3. Terraform with the AWS provider mirror: checked only (the machine image brings them).
if ! command -v terraform >/dev/null 2>&1; then
  say "warning: terraform is not on PATH; the Terraform tests need 1.11 or newer with the hashicorp/aws provider mirrored in /opt/tf-plugins (see CONTRIBUTING.md)."
elif [ ! -d /opt/tf-plugins/registry.terraform.io/hashicorp/aws ]; then
  say "warning: no AWS provider mirror in /opt/tf-plugins; create it with 'terraform providers mirror /opt/tf-plugins' from a directory that requires hashicorp/aws 5.100.0 (see CONTRIBUTING.md)."
fi

# 4. Node dependencies.
say "npm ci"
npm ci --no-audit --no-fund
say "done: npm test runs the whole check; npm run sandbox shows the pipeline end to end."
