#!/usr/bin/env bash
# Creates .venv with the pinned packages of requirements.txt. Re-runs pip only when
# requirements.txt changed since the last successful install (stamp file).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.venv"
stamp="$venv/.sabot-requirements"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || ! cmp -s "$root/requirements.txt" "$stamp"; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/requirements.txt"
  cp "$root/requirements.txt" "$stamp"
fi
# The Python package imports from the source tree in the venv: `make build` compiles
# its extension (sabot._sabot) beside python/sabot. `pip install .` builds a wheel.
site_packages=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$root/python" > "$site_packages/sabot-dev.pth"
# The `sabot` command of the development install (a wheel installs its own).
cat > "$venv/bin/sabot" <<SCRIPT
#!$venv/bin/python
from sabot.cli import main
main()
SCRIPT
chmod +x "$venv/bin/sabot"
