"""What a scan of a code finds, for the tests: miniapps.live.code_state, shortened."""

from tapgo.miniapps import live
from tapgo.miniapps.services import CODE_WORKING


def scanned(code):
    """(the code, its status), or None for an unknown code or one whose app is not live."""
    found = live.code_state(code)
    return found and (found[0], found[2])


def opens(code):
    """The code a scan opens: a working code of a live app, else None."""
    found = scanned(code)
    return found[0] if found and found[1] == CODE_WORKING else None
