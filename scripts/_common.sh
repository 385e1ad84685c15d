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

# ---------------------------------------------------------------------------------------
# The "newest Home Assistant" environment (Python >= 3.14.2), used by ./scripts/test_newest.
#
# A Python >= 3.14.2 on PATH or in pyenv is used as it is. Otherwise one is provisioned from
# the package registries only: a minimal Debian sid tree (debootstrap) with Debian's own
# python3.14, cached in .cache/py314-sid (stamp file .v2x-ready; delete the folder to
# start over). Virtual environments then live inside that tree (/opt/<name>), and
# commands run in it with chroot, the repository bind-mounted at /work/v2x, in a private
# mount namespace (so no mount can outlive the run) and, for tests, a private network
# namespace with only loopback (the simulator's fixed ports never meet a running demo).
PY314_TREE="${V2X_PY314_TREE:-$ROOT/.cache/py314-sid}"
PY314_REPO_MOUNT=/work/v2x
VENV_HA_NEWEST="${V2X_VENV_HA_NEWEST:-$ROOT/.venv-ha-newest}"

# _py314_ok <python>: CPython >= 3.14.2 with venv + ensurepip (Debian splits those off).
_py314_ok() {
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)' \
        >/dev/null 2>&1
}

# find_python314: print a Python >= 3.14.2 found on PATH or in pyenv (no provisioning).
find_python314() {
    local name candidate pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    local -a candidates=()
    for name in python3.14 python3.15 python3.16 python3; do
        if command -v "$name" >/dev/null 2>&1; then candidates+=("$(command -v "$name")"); fi
    done
    if [ -d "$pyenv_root/versions" ]; then
        for candidate in "$pyenv_root"/versions/3.1[4-9]*/bin/python3; do
            [ -x "$candidate" ] && candidates+=("$candidate")
        done
    fi
    for candidate in "${candidates[@]}"; do
        if _py314_ok "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# debian_mirror: the Debian mirror this machine's apt uses (deb822 .sources or one-line
# .list entries; never the -security archive), V2X_DEBIAN_MIRROR if set.
debian_mirror() {
    if [ -n "${V2X_DEBIAN_MIRROR:-}" ]; then
        echo "$V2X_DEBIAN_MIRROR"
        return 0
    fi
    local uri
    uri="$({
        grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
            | awk '{for (i = 2; i <= NF; i++) print $i}'
        grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            2>/dev/null | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    } | grep -E '/debian/?$' | head -n 1)"
    echo "${uri:-http://deb.debian.org/debian}"
}

# _py314_mounted <tree>: true when anything is mounted at or below <tree> (this namespace).
_py314_mounted() {
    awk -v t="$1" '$2 == t || index($2, t "/") == 1 {found = 1} END {exit !found}' /proc/mounts
}

# py314_unmount <tree>: unmount whatever is left at or below <tree> in this mount
# namespace, deepest first (only needed when no private mount namespace was available).
py314_unmount() {
    local tree="$1" mnt
    _py314_mounted "$tree" || return 0
    awk -v t="$tree" '$2 == t || index($2, t "/") == 1 {print $2}' /proc/mounts | sort -r \
        | while read -r mnt; do umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; done
}

# _py314_refresh_host_files <tree>: the host's name resolution and CA bundle (pip needs
# the host's bundle: the registries may be reached through this machine's own CA).
_py314_refresh_host_files() {
    local tree="$1" bundle
    cp -L /etc/hosts "$tree/etc/hosts"
    rm -f "$tree/etc/resolv.conf"
    cp -L /etc/resolv.conf "$tree/etc/resolv.conf"
    for bundle in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt \
        /etc/pki/tls/certs/ca-bundle.crt; do
        if [ -n "$bundle" ] && [ -f "$bundle" ]; then
            mkdir -p "$tree/etc/ssl/certs"
            cp -L "$bundle" "$tree/etc/ssl/certs/ca-certificates.crt"
            break
        fi
    done
    mkdir -p "$tree$PY314_REPO_MOUNT"
}

# py314_in_tree <net|nonet> <tree> <repo or ""> <workdir> <command...>: run a command in
# the tree with /proc, /dev (and the repository at /work/v2x) mounted, in a private mount
# namespace; "nonet" adds a private network namespace with loopback up. The command gets
# a clean environment (PATH, HOME, the CA bundle, proxies, CI, PYTEST_ADDOPTS, COLUMNS, V2X_*).
py314_in_tree() {
    local net="$1" tree="$2" repo="$3" workdir="$4" var
    shift 4
    local ca=/etc/ssl/certs/ca-certificates.crt
    local -a envs=(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME=/root
        LANG=C.UTF-8 "TERM=${TERM:-dumb}" "PIP_CERT=$ca" "SSL_CERT_FILE=$ca"
        "REQUESTS_CA_BUNDLE=$ca" PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive
    )
    for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL \
        PIP_DEFAULT_TIMEOUT CI PYTEST_ADDOPTS COLUMNS LINES $(compgen -v V2X_); do
        [ -n "${!var+set}" ] && envs+=("$var=${!var}")
    done
    _py314_refresh_host_files "$tree"
    # The inner shell mounts, runs the command and always unmounts (trap); in a private
    # mount namespace the kernel drops the mounts anyway when the last process exits.
    # shellcheck disable=SC2016
    local script='
tree=$1 repo=$2 workdir=$3 net=$4 target=$5
shift 5
mounted=""
cleanup() {
    for m in $mounted; do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    mounted=""
}
trap cleanup EXIT
trap "cleanup; exit 130" INT
trap "cleanup; exit 143" TERM HUP
mount -t proc proc "$tree/proc" || exit 125
mounted="$tree/proc"
mount --rbind /dev "$tree/dev" || exit 125
mounted="$tree/dev $mounted"
mount --make-rslave "$tree/dev" 2>/dev/null
if [ -n "$repo" ]; then
    mount --bind "$repo" "$tree$target" || exit 125
    mounted="$tree$target $mounted"
fi
if [ "$net" = nonet ]; then
    ipcmd=ip
    command -v ip >/dev/null 2>&1 || ipcmd="chroot $tree ip"
    $ipcmd link set lo up || exit 125
    # Multicast over loopback too: without a route for it Home Assistant cannot start
    # zeroconf (ENODEV), and with it no HTTP client session either.
    $ipcmd link set lo multicast on 2>/dev/null && $ipcmd route add 224.0.0.0/4 dev lo 2>/dev/null
fi
chroot "$tree" /usr/bin/env -i "$@" &
child=$!
trap "kill -TERM $child 2>/dev/null; wait $child; cleanup; exit 130" INT
trap "kill -TERM $child 2>/dev/null; wait $child; cleanup; exit 143" TERM HUP
wait $child
rc=$?
cleanup
exit $rc
'
    local -a inner=("${envs[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' v2x "$workdir" "$@")
    local -a ns=(-m --propagation private)
    [ "$net" = nonet ] && ns+=(-n)
    # PY314_EXEC=1 (see py314_exec_same_path): replace the calling shell instead of
    # returning, so the caller's pid is the supervising shell below.
    local run=""
    [ -n "${PY314_EXEC:-}" ] && run=exec
    if unshare "${ns[@]}" true 2>/dev/null; then
        $run unshare "${ns[@]}" sh -c "$script" v2x-tree "$tree" "$repo" "$workdir" "$net" \
            "$PY314_REPO_MOUNT" "${inner[@]}"
        return
    fi
    # No mount namespaces here: mount in this one; the inner trap (and the caller's
    # py314_unmount) take everything down again.
    local -a wrap=()
    if [ "$net" = nonet ]; then
        if ! unshare -n true 2>/dev/null; then
            echo "error: cannot create a private network namespace (unshare -n)" >&2
            return 125
        fi
        wrap=(unshare -n)
    fi
    $run "${wrap[@]}" sh -c "$script" v2x-tree "$tree" "$repo" "$workdir" "$net" \
        "$PY314_REPO_MOUNT" "${inner[@]}"
}

# py314_exec_same_path <tree> <workdir> <command...>: replace this shell (exec) with
# <command> run in the tree on the HOST network, the repository bind-mounted at its own
# path ($ROOT) so that paths below it (a configuration folder, its symlink to
# custom_components/v2x) are the same inside and outside. This shell's pid becomes the
# supervising shell of py314_in_tree: SIGTERM to it reaches the command once, then the
# mounts go (a private mount namespace); SIGKILL to its process group ends everything,
# the namespace and its mounts with it. Used by scripts/hass_newest.
py314_exec_same_path() {
    local tree="$1" workdir="$2"
    shift 2
    local PY314_REPO_MOUNT="$ROOT" PY314_EXEC=1
    py314_in_tree net "$tree" "$ROOT" "$workdir" "$@"
}

# ensure_python314: make a Python >= 3.14.2 available. Sets V2X_PY314 (the interpreter)
# and V2X_PY314_ROOT (empty for a host Python, else the Debian sid tree it lives in).
# Returns non-zero, saying why, when none is found and provisioning is impossible (not
# root, no apt-get/debootstrap, no mirror); callers skip outside CI and fail under CI=true.
ensure_python314() {
    local found tree="$PY314_TREE" stamp="$PY314_TREE/.v2x-ready" partial mirror log
    if [ -z "${V2X_PY314_PROVISION:-}" ] && found="$(find_python314)"; then
        export V2X_PY314="$found" V2X_PY314_ROOT=""
        return 0
    fi
    if [ -f "$stamp" ] && [ -x "$tree/usr/bin/python3.14" ]; then
        export V2X_PY314=/usr/bin/python3.14 V2X_PY314_ROOT="$tree"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "no Python >= 3.14.2 on PATH or in pyenv, and provisioning one (debootstrap," \
            "chroot) needs root; install one (e.g. 'pyenv install 3.14') or run as root" >&2
        return 1
    fi
    local tool
    for tool in apt-get chroot unshare mount; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "no Python >= 3.14.2 on PATH or in pyenv, and no $tool to provision one" >&2
            return 1
        fi
    done
    if ! command -v debootstrap >/dev/null 2>&1; then
        echo "==> installing debootstrap (apt-get)"
        local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap)
        if ! "${install[@]}" >/dev/null 2>&1 \
            && ! { apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; }; then
            echo "no Python >= 3.14.2, and apt-get install debootstrap failed" >&2
            return 1
        fi
    fi
    partial="$tree.partial"
    if _py314_mounted "$partial" || _py314_mounted "$tree"; then
        echo "something is still mounted below $tree; unmount it first (see /proc/mounts)" >&2
        return 1
    fi
    mirror="$(debian_mirror)"
    mkdir -p "$(dirname "$tree")"
    rm -rf "$partial"
    log="$(dirname "$tree")/py314-provision.log"
    echo "==> provisioning Python 3.14: Debian sid tree from $mirror in $tree (about a minute; log: $log)"
    if ! debootstrap --variant=minbase sid "$partial" "$mirror" >"$log" 2>&1; then
        echo "debootstrap of Debian sid from $mirror failed (last lines of $log):" >&2
        tail -n 5 "$log" >&2
        return 1
    fi
    # The mirror's sid InRelease can be past its Valid-Until date.
    echo 'Acquire::Check-Valid-Until "false";' >"$partial/etc/apt/apt.conf.d/99v2x-valid-until"
    local packages="python3.14 python3.14-venv"
    command -v ip >/dev/null 2>&1 || packages="$packages iproute2"
    # shellcheck disable=SC2086
    if ! py314_in_tree net "$partial" "" / sh -c "apt-get -o Acquire::Check-Valid-Until=false update \
            && apt-get install -y --no-install-recommends $packages && apt-get clean" >>"$log" 2>&1; then
        echo "apt-get install $packages in the sid tree failed (last lines of $log):" >&2
        tail -n 5 "$log" >&2
        return 1
    fi
    if ! py314_in_tree net "$partial" "" / /usr/bin/python3.14 -c \
        'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)'; then
        echo "the sid tree's python3.14 is older than 3.14.2 or has no venv module" >&2
        return 1
    fi
    if _py314_mounted "$partial"; then
        echo "mounts left below $partial after provisioning; not moving it into place" >&2
        return 1
    fi
    if [ -e "$tree" ]; then
        _py314_mounted "$tree" && { echo "something is mounted below $tree" >&2; return 1; }
        rm -rf "$tree"
    fi
    mv "$partial" "$tree"
    {
        echo "mirror=$mirror"
        echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "python=$(chroot "$tree" /usr/bin/python3.14 -c 'import platform; print(platform.python_version())' 2>/dev/null)"
    } >"$stamp"
    export V2X_PY314=/usr/bin/python3.14 V2X_PY314_ROOT="$tree"
}

# ensure_newest_venv <requirements file> <name>: a virtual environment on the Python from
# ensure_python314 with <requirements> installed (sha256 stamp, like ensure_venv). Inside
# the sid tree it is /opt/<name>; with a host Python it is $VENV_HA_NEWEST (<name> "v2x-venv")
# or $ROOT/.venv-<name>. Sets V2X_NEWEST_PYTHON to its interpreter (as seen where it runs).
ensure_newest_venv() {
    local requirements="$1" name="$2" wanted stamp venv base
    ensure_python314 || return 1
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    base="$(basename "$requirements" .txt)"
    if [ -z "$V2X_PY314_ROOT" ]; then
        venv="$VENV_HA_NEWEST"
        [ "$name" = v2x-venv ] || venv="$ROOT/.venv-$name"
        if [ ! -x "$venv/bin/python" ]; then
            echo "==> creating $venv with $V2X_PY314"
            "$V2X_PY314" -m venv "$venv" || return 1
        fi
        stamp="$venv/.$base.sha256"
        if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
            echo "==> installing $(basename "$requirements") into $venv (a few minutes the first time)"
            "$venv/bin/python" -m pip install --quiet --upgrade pip || return 1
            "$venv/bin/python" -m pip install --quiet -r "$requirements" || return 1
            echo "$wanted" >"$stamp"
        fi
        export V2X_NEWEST_PYTHON="$venv/bin/python"
        return 0
    fi
    local tree="$V2X_PY314_ROOT"
    venv="/opt/$name"
    stamp="$tree$venv/.$base.sha256"
    # (bin/python is a link to /usr/bin/python3.14 inside the tree: test pyvenv.cfg here)
    if [ ! -f "$tree$venv/pyvenv.cfg" ]; then
        echo "==> creating $venv in $tree with $V2X_PY314"
        py314_in_tree net "$tree" "" / "$V2X_PY314" -m venv "$venv" || return 1
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "==> installing $(basename "$requirements") into $venv in $tree (a minute or two the first time)"
        cp "$requirements" "$tree$venv/requirements.txt"
        py314_in_tree net "$tree" "" / "$venv/bin/python" -m pip install --quiet --upgrade pip \
            || return 1
        py314_in_tree net "$tree" "" / "$venv/bin/python" -m pip install --quiet \
            -r "$venv/requirements.txt" || return 1
        echo "$wanted" >"$stamp"
    fi
    export V2X_NEWEST_PYTHON="$venv/bin/python"
}

# run_newest <command...>: run a command (e.g. "$V2X_NEWEST_PYTHON" -m pytest) from the
# repository's root, on the newest environment, in a private network namespace (loopback
# only, multicast routed over it) when one can be made. In the sid tree the repository
# is /work/v2x.
run_newest() {
    if [ -n "${V2X_PY314_ROOT:-}" ]; then
        py314_in_tree nonet "$V2X_PY314_ROOT" "$ROOT" "$PY314_REPO_MOUNT" "$@"
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
        (cd "$ROOT" && unshare -n sh -c 'ip link set lo up || exit 125
            ip link set lo multicast on 2>/dev/null && ip route add 224.0.0.0/4 dev lo 2>/dev/null
            exec "$@"' v2x "$@")
    else
        (cd "$ROOT" && "$@")
    fi
}

# ensure_tree_packages <tree> <package...>: Debian packages inside the sid tree, installed
# once with apt-get (stamp .v2x-packages holds the list; the log goes to
# .cache/py314-provision.log). For libraries Home Assistant loads that no wheel brings
# (libturbojpeg0 for the camera integration's PyTurboJPEG).
ensure_tree_packages() {
    local tree="$1" stamp log
    shift
    stamp="$tree/.v2x-packages"
    log="$(dirname "$tree")/py314-provision.log"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
        return 0
    fi
    echo "==> installing $* in $tree (apt-get; log: $log)"
    # shellcheck disable=SC2016
    py314_in_tree net "$tree" "" / sh -c 'apt-get -o Acquire::Check-Valid-Until=false update \
        && apt-get install -y --no-install-recommends "$@" && apt-get clean' v2x "$@" \
        >>"$log" 2>&1 || return 1
    echo "$*" >"$stamp"
}
