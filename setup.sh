#!/usr/bin/env bash
# Creates .venv (if missing) and installs this package with its dependencies.
# torch 2.13.0 goes first: the CPU build is what a plain `torch` requirement would otherwise
# replace with a newer release and gigabytes of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[dev]'
