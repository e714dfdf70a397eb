#!/usr/bin/env bash
# Translation catalogues (zh, en) of survey/: extract | update | compile | check | all.
#   extract  collect every message of the Python code and templates into messages.pot
#   update   merge messages.pot into translations/{zh,en}/LC_MESSAGES/messages.po
#   compile  build the .mo files the app loads (git-ignored; `make` runs this)
#   all      extract, update and compile
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
DIR=survey/translations
POT=$DIR/messages.pot

extract() {
  "$PYBABEL" -q extract -F survey/babel.cfg -k lazy_gettext -k _l --no-location \
    --sort-output --project "满意度" -o "$POT" survey
}

update() {
  for lang in zh en; do
    if [ -f "$DIR/$lang/LC_MESSAGES/messages.po" ]; then
      "$PYBABEL" -q update -i "$POT" -d "$DIR" -l "$lang" --no-fuzzy-matching --ignore-obsolete
    else
      "$PYBABEL" -q init -i "$POT" -d "$DIR" -l "$lang"
    fi
  done
}

compile() {
  "$PYBABEL" -q compile -d "$DIR"
}

case "${1:-all}" in
  extract) extract ;;
  update) update ;;
  compile) compile ;;
  all) extract; update; compile ;;
  *) echo "usage: $0 extract|update|compile|all" >&2; exit 2 ;;
esac
