"""The web server's log (granian's, configured by granian-log.json beside this module): as
granian logs by default, less one piece of advice.

Granian advises, at every start, that more Python threads than twice the cores plus one
"seems quite high". Tapgo runs 8 threads per worker on purpose (cli.DEFAULT_THREADS: each
open live stream holds one), so on a small machine every `tapgo serve` and `tapgo demo`
started with a [WARNING] a newcomer reads as an error. Everything else granian logs stays.
"""

import logging
from pathlib import Path

CONFIG = Path(__file__).resolve().with_name("granian-log.json")


class NoThreadAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Python threads, which seems quite high" not in record.getMessage()
