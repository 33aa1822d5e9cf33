#!/usr/bin/env bash
# .ci/setup.sh: install and check what the tests need on Debian 12 (STACK.md §9).
#
#   bash .ci/setup.sh       install and check, print versions and timings
#   . .ci/setup.sh          the same, then export PG_BIN, CHROMIUM_PATH,
#                           PLAYWRIGHT_DRIVER_PATH, E2E_ARTIFACTS and E2E_REQUIRED=1
#                           into the calling bash (this is what `make test` does)
#
# Every step checks before it acts, so a second run installs nothing. It works as root
# (apt-get, useradd) and as non-root (it then only names what is missing), and never
# calls sudo. SKIP_APT=1 turns apt-get off even as root.
#
# The work always runs in a child bash with `set -euo pipefail`, so neither the strict
# options nor a failed step's `exit` leak into a shell that sources this file; that
# shell only reads back the variables to export.

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
	# Sourced: run ourselves as a script, then export what it wrote down.
	_ksd_env=$(mktemp "${TMPDIR:-/tmp}/ksherdash-setup.XXXXXX") || return 1
	if bash "${BASH_SOURCE[0]}" --env-out "$_ksd_env"; then
		. "$_ksd_env"
		rm -f "$_ksd_env"
		unset _ksd_env
		return 0
	else
		_ksd_rc=$?
		rm -f "$_ksd_env"
		unset _ksd_env
		return "$_ksd_rc"
	fi
fi

set -euo pipefail

ENV_OUT=
if [[ "${1:-}" == --env-out ]]; then
	ENV_OUT=${2:?--env-out needs a file}
fi

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: run one step and report how long it took.
step() {
	local name=$1 t0=$EPOCHREALTIME
	shift
	"$@"
	log "$(printf '%-16s %6.2fs' "$name" "$(secs_between "$EPOCHREALTIME" "$t0")")"
}
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

is_root() { [[ "$(id -u)" == 0 ]]; }

# 1. Basics and Go.
step_go() {
	cd "$(dirname "${BASH_SOURCE[0]}")/.."
	[[ -f go.mod ]] || die "no go.mod in $(pwd): run this from the ksherdash checkout"
	ROOT=$(pwd)
	if ! command -v go >/dev/null 2>&1; then
		# The §3 install puts Go here without touching PATH.
		local d
		for d in /usr/local/go/bin "$HOME"/sdk/go1.*/bin; do
			if [[ -x "$d/go" ]]; then
				PATH="$d:$PATH"
				export PATH
				break
			fi
		done
	fi
	local v=
	if command -v go >/dev/null 2>&1; then
		v=$(go env GOVERSION 2>/dev/null || true)
	fi
	local major minor
	IFS=. read -r major minor _ <<<"${v#go}."
	minor=${minor%%[!0-9]*} # go1.27rc1
	if [[ -z "$v" || ! "$major" =~ ^[0-9]+$ || ! "$minor" =~ ^[0-9]+$ ]] ||
		((major < 1 || (major == 1 && minor < 26))); then
		cat >&2 <<-'EOF'
			setup: missing: Go >= 1.26 (Debian's golang-go is too old). Install it from the module proxy (STACK.md §3):
			  P=${GOPROXY%%,*}; V=1.26.0
			  curl -fsSLo /tmp/go.zip "$P/golang.org/toolchain/@v/v0.0.1-go$V.linux-amd64.zip"
			  rm -rf /tmp/go-unzip && unzip -q /tmp/go.zip -d /tmp/go-unzip
			  mv "/tmp/go-unzip/golang.org/toolchain@v0.0.1-go$V.linux-amd64" /usr/local/go   # non-root: ~/sdk/go$V
			  export PATH=/usr/local/go/bin:$PATH
		EOF
		exit 1
	fi
}

node_ok() {
	command -v node >/dev/null 2>&1 &&
		node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' 2>/dev/null
}

# 2. System packages: only those that are missing.
step_apt() {
	local missing=()
	[[ -x /usr/lib/chromium/chromium ]] || missing+=(chromium)
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
	if ! node_ok; then
		missing+=(nodejs npm)
	elif ! command -v npm >/dev/null 2>&1; then
		# Debian's node without its npm; a NodeSource node ships its own npm and never gets here.
		missing+=(npm)
	fi
	# Headless Chromium runs without fonts, but the e2e screenshots need one, and one
	# with Thai glyphs for the Thai pages (DejaVu has none).
	[[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
	[[ -e /usr/share/fonts/truetype/tlwg/Garuda.ttf ]] || missing+=(fonts-tlwg-garuda-ttf)
	# zbarimg decodes the sandbox's QR codes in its tests; python3 runs Ksher's
	# reference signature tools against the sandbox.
	command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
	command -v python3 >/dev/null 2>&1 || missing+=(python3)
	# go test -race needs cgo: a C compiler and the C library's headers.
	command -v gcc >/dev/null 2>&1 || missing+=(gcc)
	[[ -e /usr/include/stdlib.h ]] || missing+=(libc6-dev)
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	if ! is_root || [[ "${SKIP_APT:-}" == 1 ]]; then
		die "missing: ${missing[*]}; as root run: apt-get install --no-install-recommends ${missing[*]}"
	fi
	log "apt-get install ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[[ -x /usr/lib/chromium/chromium ]] || die "chromium installed but /usr/lib/chromium/chromium is missing"
	node_ok || die "node >= 18 still missing after apt-get install"
}

# 3. The postgres OS user: as root, initdb and postgres run as it (Postgres refuses root).
step_pguser() {
	is_root || return 0
	id postgres >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin postgres
}

# 4. Go modules and the Playwright driver (playwright-core from npm, at exactly the
# version playwright-go was built for; it is read from run.go, never written here).
step_modules() {
	go mod download
}

step_driver() {
	local dir
	dir=$(go list -m -f '{{.Dir}}' github.com/playwright-community/playwright-go)
	PW_VER=$(sed -n 's/^const playwrightCliVersion = "\(.*\)"$/\1/p' "$dir/run.go")
	[[ -n "$PW_VER" ]] || die "cannot read playwrightCliVersion from $dir/run.go"
	local home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
	DRIVER=${PLAYWRIGHT_DRIVER_PATH:-$home/.cache/ms-playwright-go/$PW_VER}
	if [[ "$("$DRIVER/node" "$DRIVER/package/cli.js" --version 2>/dev/null)" == "Version $PW_VER" ]]; then
		return 0
	fi
	log "installing playwright-core@$PW_VER into $DRIVER"
	mkdir -p "$DRIVER"
	# Remove only what we put there: PLAYWRIGHT_DRIVER_PATH may point at a shared directory.
	rm -rf "$DRIVER/package" "$DRIVER/node" "$DRIVER"/playwright-core-*.tgz
	(cd "$DRIVER" && npm pack --silent --loglevel=error --no-update-notifier "playwright-core@$PW_VER" >/dev/null &&
		tar xzf "playwright-core-$PW_VER.tgz" && rm -f "playwright-core-$PW_VER.tgz")
	ln -sfn "$(command -v node)" "$DRIVER/node"
	[[ "$("$DRIVER/node" "$DRIVER/package/cli.js" --version 2>/dev/null)" == "Version $PW_VER" ]] ||
		die "driver in $DRIVER does not report Version $PW_VER"
}

# 5. Export and report.
step_report() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	CHROMIUM_PATH=/usr/lib/chromium/chromium
	E2E_ARTIFACTS=${E2E_ARTIFACTS:-$ROOT/e2e-artifacts}
	mkdir -p "$E2E_ARTIFACTS"
	log "go        $(go env GOVERSION)"
	log "node      $(node --version), npm $(npm --version 2>/dev/null)"
	log "postgres  $("$PG_BIN/postgres" --version) ($PG_BIN)"
	log "chromium  $("$CHROMIUM_PATH" --version 2>/dev/null | head -1) ($CHROMIUM_PATH)"
	log "driver    playwright-core $PW_VER ($DRIVER)"
}

write_env() {
	[[ -n "$ENV_OUT" ]] || return 0
	{
		printf 'export PATH=%q\n' "$PATH"
		printf 'export PG_BIN=%q\n' "$PG_BIN"
		printf 'export CHROMIUM_PATH=%q\n' "$CHROMIUM_PATH"
		printf 'export PLAYWRIGHT_DRIVER_PATH=%q\n' "$DRIVER"
		printf 'export E2E_ARTIFACTS=%q\n' "$E2E_ARTIFACTS"
		printf 'export E2E_REQUIRED=1\n'
	} >"$ENV_OUT"
}

T0=$EPOCHREALTIME
step go-check step_go
step apt step_apt
step postgres-user step_pguser
step go-mod-download step_modules
step driver step_driver
step_report
write_env
log "$(printf '%-16s %6.2fs' total "$(secs_between "$EPOCHREALTIME" "$T0")")"
