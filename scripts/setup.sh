#!/usr/bin/env bash
# One idempotent set-up for a fresh machine of our kind (Debian/Ubuntu, x86_64 or arm64):
# everything `npm test` and `npm run sandbox` need, and nothing already there.
#
#   - Debian packages listed in .ci/apt-packages.txt (Prometheus, buildah, a local OCI
#     registry, skopeo, openssl), with apt-get: as root, or through sudo.
#   - moto's server (the AWS API emulator of the integration tests) at the pinned version,
#     into .moto/ with pip when none is installed; another version is refused.
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

# 2. moto's server at the version the tests are pinned to (.ci/moto-requirements.txt lists
#    it and everything it imports, each at an exact version, installed with --no-deps).
moto_pin=$(sed -n 's/^moto\(\[[a-z,]*\]\)\{0,1\}==\([^ ]*\).*/\2/p' .ci/moto-requirements.txt)
moto_version() { "$@" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true; }
moto_found=""
command -v python3 >/dev/null 2>&1 && moto_found=$(moto_version python3)
if [ -z "$moto_found" ] && command -v moto_server >/dev/null 2>&1; then
  # moto_server from a virtual environment (as ci.yml installs it): ask its own python.
  moto_python=$(sed -n '1s/^#!//p' "$(command -v moto_server)")
  case "$moto_python" in *python*) moto_found=$(moto_version $moto_python) ;; esac
fi
if [ -z "$moto_found" ] && [ -x .moto/bin/moto_server ]; then
  moto_found=$(moto_version .moto/bin/python)
  export PATH="$PWD/.moto/bin:$PATH"
fi
if [ -z "$moto_found" ]; then
  command -v python3 >/dev/null 2>&1 || fail "python3 is missing: install it (apt-get install python3 python3-venv), then run this again."
  say "installing moto ${moto_pin} and its pinned dependencies into .moto/ (put .moto/bin on PATH)"
  python3 -m venv .moto || fail "python3 could not create a virtual environment: install python3-venv, then run this again."
  .moto/bin/pip install --quiet --no-deps -r .ci/moto-requirements.txt \
    || fail "pip could not install .ci/moto-requirements.txt (no access to PyPI?): install moto ${moto_pin} by hand, then run this again."
  moto_found=$(moto_version .moto/bin/python)
  say "moto ${moto_found} installed: add $PWD/.moto/bin to PATH before npm test."
elif [ "$moto_found" != "$moto_pin" ]; then
  fail "moto ${moto_found} is installed, but the tests are pinned to moto ${moto_pin} (.ci/moto-requirements.txt). Install the pinned set: python3 -m venv .moto && .moto/bin/pip install --no-deps -r .ci/moto-requirements.txt, then put .moto/bin on PATH."
else
  say "moto ${moto_found} already installed"
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
