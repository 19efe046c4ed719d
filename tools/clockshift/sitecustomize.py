"""Move this interpreter's wall clock by `SITE_CLOCK_SHIFT` (test-clock's end-to-end run).

With this directory on `PYTHONPATH` and `SITE_CLOCK_SHIFT` set (`+400d`, `-30d`, `+6h`,
`-90m`, `+45s`, `+1y` = 365 days), Python imports this module at start-up, before the
program's own imports, and it starts a ticking freezegun freezer at the real time moved
by the shift: `time.time()`, `time.gmtime()`, `time.localtime()`, `time.strftime()`,
`time.monotonic()`, `datetime.datetime.now()`, `utcnow()`, `today()`,
`datetime.date.today()` read the moved clock (time passes at its real pace), in every
thread and in every Python child process (they inherit the environment). The tests' own
freezegun freezers and the local runtime's virtual clock stack on top of it as usual.
`time.clock_gettime()` keeps the real time: it is the reference that shows the shift.

Why not libfaketime there: the preload library crashes (SIGSEGV) in the moto server's
threads in most runs of the longer end-to-end files, so often that reruns do not help.
The handler suite, with in-process moto, still runs under libfaketime (mk/clock.mk).
Without `SITE_CLOCK_SHIFT` this module does nothing.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "y": 365 * 86_400}
_SHIFT = re.compile(r"([+-]?)(\d+)([smhdy]?)")


def parse_shift(text: str) -> int:
    """`+400d` -> seconds; refuses anything else (a typo must not silently shift nothing)."""
    match = _SHIFT.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"SITE_CLOCK_SHIFT must look like +400d, -30d, +6h, -90m, +45s or +1y, not {text!r}"
        )
    sign, amount, unit = match.groups()
    seconds = int(amount) * _UNITS[unit]
    return -seconds if sign == "-" else seconds


def install(shift_seconds: int) -> None:
    """Move the wall clock of this process by `shift_seconds`, ticking in real time."""
    import freezegun  # noqa: PLC0415 (only when asked: the venv's, found through site-packages)
    import freezegun.config  # noqa: PLC0415

    moved = _dt.datetime.now(_dt.UTC).replace(tzinfo=None) + _dt.timedelta(seconds=shift_seconds)
    # No ignore list for this freezer: freezegun's default one hands real time to calls
    # made near threading frames (a thread's own function, for one), which would leave
    # those unshifted. Freezers started later get the default list as usual.
    defaults = freezegun.config.settings.default_ignore_list
    freezegun.configure(default_ignore_list=[])
    try:
        freezer = freezegun.freeze_time(moved, tick=True)
    finally:
        freezegun.configure(default_ignore_list=defaults)
    freezer.start()


def _main() -> None:
    requested = os.environ.get("SITE_CLOCK_SHIFT")
    if not requested:
        return
    try:
        install(parse_shift(requested))
    except Exception as error:  # any failure: never run unshifted
        # site.py reports an Exception from sitecustomize and goes on: a run that asked
        # for a moved clock must not go on without it
        sys.stderr.write(f"clockshift: {error}\n")
        raise SystemExit(2) from error


_main()
