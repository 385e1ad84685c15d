# Shared helpers for the scripts in this folder (sourced, not executed).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${V2X_VENV:-$ROOT/.venv}"
VENV_NEWEST="${V2X_VENV_NEWEST:-$ROOT/.venv-pymodbus-newest}"

# Print the path of a Python >= 3.13 found on PATH or in pyenv, or fail clearly.
find_python() {
    local candidate
    local -a candidates=()
    for name in python3.13 python3.14 python3.15 python3; do
        if command -v "$name" >/dev/null 2>&1; then candidates+=("$(command -v "$name")"); fi
    done
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    if [ -d "$pyenv_root/versions" ]; then
        for candidate in "$pyenv_root"/versions/3.1[3-9]*/bin/python3; do
            [ -x "$candidate" ] && candidates+=("$candidate")
        done
    fi
    for candidate in "${candidates[@]}"; do
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python >= 3.13 is required (Home Assistant 2025.4 needs it)." >&2
    echo "       Install it (e.g. 'pyenv install 3.13') or put python3.13 on PATH." >&2
    return 1
}

# ensure_venv <venv dir> <requirements file> [stamp name]: create the venv and install
# the requirements, skipping the install when they have not changed since last time.
ensure_venv() {
    local venv="$1" requirements="$2" name="${3:-requirements}" python stamp wanted
    if [ ! -x "$venv/bin/python" ]; then
        python="$(find_python)" || return 1
        echo "==> creating $venv with $python"
        "$python" -m venv "$venv"
    fi
    stamp="$venv/.$name.sha256"
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "==> installing $(basename "$requirements") into $venv (a few minutes the first time)"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -r "$requirements"
        echo "$wanted" >"$stamp"
    fi
}

# ensure_chromium: make Debian's Chromium available for the browser tests, installing the
# distribution package when it is missing (never a browser downloaded by a test tool).
# On failure, V2X_BROWSER_UNAVAILABLE says why; the browser tests then skip with it.
ensure_chromium() {
    local chromium="${V2X_CHROMIUM:-/usr/bin/chromium}" sudo=""
    [ -x "$chromium" ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        export V2X_BROWSER_UNAVAILABLE="no $chromium and no apt-get to install it (set V2X_CHROMIUM)"
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            export V2X_BROWSER_UNAVAILABLE="no $chromium, and installing it needs root (apt-get install chromium)"
            return 1
        fi
    fi
    echo "==> installing Debian's chromium package (apt-get)"
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
    if $sudo "${install[@]}" >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo "${install[@]}" >/dev/null 2>&1; }; then
        return 0
    fi
    export V2X_BROWSER_UNAVAILABLE="apt-get install chromium failed"
    return 1
}
