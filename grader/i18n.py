"""The grader speaks the student's language: English, or Chinese.

Messages are written in English in the source, wrapped in _() (plural forms in
ngettext()), and translated in grader/locale/zh/LC_MESSAGES/forklab.po.  The
build compiles that catalogue with GNU gettext's msgfmt into forklab.mo beside
it (`make catalogues`, which `make grade` runs); Python's gettext reads the .mo.

The language is `--lang zh|en`, else $FORKLAB_LANG (set by a grader for the
graders it starts; a value other than zh or en is a usage error), else the
locale of the environment: the first of LC_ALL, LC_MESSAGES, LANG that is
set, as setlocale(3) orders them; zh_* (zh_CN.UTF-8, zh_TW...) is Chinese,
anything else English.  Without a compiled catalogue the grader says so once
and speaks English.
"""

import gettext
import os
import sys
from pathlib import Path

from grader import settings

DOMAIN = "forklab"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh")
# Set by the grader to the language it chose: the graders it starts (--batch)
# speak the same.
ENVIRONMENT = "FORKLAB_LANG"

_translation = gettext.NullTranslations()
_language = "en"


def language_from_environment(environ=None) -> str:
    """'zh' when the environment's locale is Chinese, else 'en'."""
    environ = os.environ if environ is None else environ
    if environ.get(ENVIRONMENT):
        return settings.one_of(ENVIRONMENT, LANGUAGES, "en", environ)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def language_from_argv(argv) -> str:
    """The value of --lang (or --lang=) in argv, if given; else None."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def setup(language: str, warn=True) -> str:
    """Speak language ('en' or 'zh') from now on; returns the language in use."""
    global _translation, _language
    _translation, _language = gettext.NullTranslations(), "en"
    if language not in LANGUAGES:
        language = "en"
    if language == "en":
        return _language
    try:
        _translation = gettext.translation(DOMAIN, localedir=str(LOCALE_DIR),
                                           languages=[language])
        _language = language
    except OSError:
        if warn:
            mo = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
            print(f"grade: no compiled messages for '{language}' ({mo} is missing: "
                  f"`make catalogues` builds it); speaking English", file=sys.stderr)
    return _language


def language() -> str:
    """The language the grader speaks: 'en' or 'zh'."""
    return _language


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)
