# shellcheck shell=bash
echo placeholder
