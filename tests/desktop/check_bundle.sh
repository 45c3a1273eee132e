#!/usr/bin/env bash
# Checks the .deb: it installs a .desktop entry that starts the app by
# double-click, the binary and the icons; prints the installed size.
set -euo pipefail
deb=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/bundle/deb/*.deb | head -1)
contents=$(dpkg-deb -c "$deb")
desktop=$(echo "$contents" | awk '{print $6}' | grep -E '^(\./)?usr/share/applications/.*\.desktop$')
echo "$contents" | grep -qE '(^| |\./)usr/bin/slipway-desktop$' || { echo "no binary in $deb" >&2; exit 1; }
echo "$contents" | grep -q 'icons/hicolor/128x128/apps/' || { echo "no icons in $deb" >&2; exit 1; }
entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO "$desktop")
echo "$entry" | grep -q '^Exec=slipway-desktop' || { echo "bad Exec in $desktop: $entry" >&2; exit 1; }
echo "$entry" | grep -q '^Type=Application' || { echo "bad Type in $desktop" >&2; exit 1; }
echo "$(basename "$deb"): installed size $(dpkg-deb -f "$deb" Installed-Size) KiB, $(du -k "$deb" | cut -f1) KiB download; $desktop OK"
