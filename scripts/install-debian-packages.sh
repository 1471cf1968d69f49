#!/usr/bin/env bash
# Installs the Debian packages the station and its tests need. Safe to run again: does nothing
# when every package is present. Waits for the dpkg lock instead of failing (another apt may run).
set -euo pipefail
PACKAGES=(
  orthanc        # the real PACS the tests talk to
  dcmtk          # reference tools: storescu, dcmmkdir, echoscu (benchmarks, cross-checks)
  dicom3tools    # dciodvfy: validates what we write
  xorriso        # burning and reading optical media (pseudo-drives in tests)
  postgresql     # a private server for the PostgreSQL half of the database tests
  dosfstools     # mkfs.vfat / fsck.vfat for USB sticks
  mtools         # FAT images without mounting
  python3-venv   # venv for Debian's own python3 when it is the interpreter
  fonts-dejavu-core  # the TrueType font embedded in letters and labels (ä, ö, å)
  poppler-utils  # pdftotext / pdffonts: the tests read the letters back
  umockdev gir1.2-umockdev-1.0 python3-gi  # fake udev devices for the hot-plug tests
  chromium firefox-esr  # the offline viewer is tested in real browsers (no browser downloads)
  rsyslog rsyslog-openssl  # a private syslog receiver stands in for the audit repository (TLS, RFC 5425)
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "Debian packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Debian packages missing (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() {
  for attempt in 1 2 3 4 5; do
    apt-get -o DPkg::Lock::Timeout=300 "$@" && return 0
    echo "apt-get $1 failed (attempt $attempt); retrying in 10 s" >&2
    sleep 10
  done
  return 1
}
apt_get update -q
apt_get install -y -q --no-install-recommends "${missing[@]}"
