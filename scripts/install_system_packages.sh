#!/usr/bin/env bash
# System packages the tests use, from Debian (a download at test time cannot work offline):
#   chromium + chromium-driver   the studio's browser tests (Selenium)
#   tesseract-ocr (+ nld, eng)   OCR of scanned PDFs and images (extractinator[documents])
#   poppler-utils                pdftoppm: renders scanned PDF pages for OCR
# Installs what is missing when apt can; otherwise says so, and the tests that need a
# missing program are skipped with that reason.
set -uo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v tesseract >/dev/null || need+=(tesseract-ocr)
for lang in nld eng; do
  [ -n "$(find /usr/share/tesseract-ocr -name "$lang.traineddata" 2>/dev/null | head -1)" ] ||
    need+=("tesseract-ocr-$lang")
done
command -v pdftoppm >/dev/null || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
APT=(-o DPkg::Lock::Timeout=300)
if { $SUDO apt-get "${APT[@]}" update -qq &&
     DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT[@]}" install -y -qq \
       --no-install-recommends "${need[@]}" >/dev/null; }; then
  exit 0
fi
echo "warning: could not install ${need[*]} (apt): the tests that need them will be skipped" >&2
