#!/usr/bin/env bash
# The system packages advisor's tests use, from Debian's archive: Graphviz (its `dot`
# lays out the network picture), Chromium (tests render the HTML brief headless and print
# it to PDF), poppler-utils (`pdfinfo`, `pdftotext` and `pdffonts` check those PDFs), the
# Noto CJK fonts (the Japanese brief's glyphs) and wrk (the load on `advisor serve`:
# benchmarks/serve.py and tests/test_serve_load.py).
# Installs only what is missing; needs root or sudo.
set -euo pipefail
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# (grep reads all of fc-list's output: with -q it would stop early, and pipefail would see SIGPIPE)
fc-list 2>/dev/null | grep "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dot >/dev/null && command -v chromium >/dev/null && command -v pdftotext >/dev/null && command -v wrk >/dev/null
fc-list | grep "Noto Sans CJK" >/dev/null
