#!/usr/bin/env bash
# Checks the .deb and the .rpm: each installs a .desktop entry that starts
# the app by double-click, the app, the icons, and the `slipway` CLI with
# its completions and man pages; prints the installed size.
set -euo pipefail
dir=${CARGO_TARGET_DIR:-target}/release/bundle
deb=$(ls -t "$dir"/deb/*.deb | head -1)
rpm=$(ls -t "$dir"/rpm/*.rpm | head -1)
deb_files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed -e 's|^\./||' -e 's|^|/|')
rpm_files=$(rpm -qlp "$rpm" 2>/dev/null)

# What both packages carry; zsh's folder differs between the families.
common=(
  /usr/bin/slipway-desktop
  /usr/bin/slipway
  /usr/share/bash-completion/completions/slipway
  /usr/share/fish/vendor_completions.d/slipway.fish
  /usr/share/man/man1/slipway.1.gz
  /usr/share/man/man1/slipway-run.1.gz
  /usr/share/man/man1/slipway-push.1.gz
  /usr/share/man/man1/slipway-doctor.1.gz
  /usr/share/man/man1/slipway-pr-open.1.gz
)
check() {
  local package=$1 files=$2; shift 2
  for file in "$@"; do
    echo "$files" | grep -qxF "$file" || { echo "$file is not in $package" >&2; exit 1; }
  done
}
check "$deb" "$deb_files" "${common[@]}" /usr/share/zsh/vendor-completions/_slipway
check "$rpm" "$rpm_files" "${common[@]}" /usr/share/zsh/site-functions/_slipway
echo "$deb_files" | grep -q 'icons/hicolor/128x128/apps/' || { echo "no icons in $deb" >&2; exit 1; }

desktop=$(echo "$deb_files" | grep -E '^/usr/share/applications/.*\.desktop$')
entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO "${desktop#/}")
echo "$entry" | grep -q '^Exec=slipway-desktop' || { echo "bad Exec in $desktop: $entry" >&2; exit 1; }
echo "$entry" | grep -q '^Type=Application' || { echo "bad Type in $desktop" >&2; exit 1; }

# The packaged CLI runs, and its man page renders.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work"
"$work/usr/bin/slipway" --help | grep -q '^Usage: slipway' || { echo "the packaged slipway does not run" >&2; exit 1; }
zcat "$work/usr/share/man/man1/slipway-push.1.gz" | grep -q '^\.TH slipway-push' || { echo "bad man page" >&2; exit 1; }
echo "$(basename "$deb"): installed size $(dpkg-deb -f "$deb" Installed-Size) KiB, $(du -k "$deb" | cut -f1) KiB download; $desktop OK"
echo "$(basename "$rpm"): $(du -k "$rpm" | cut -f1) KiB download; the CLI, completions and $(echo "$rpm_files" | grep -c 'man1/') man pages in both"
