"""`tapgo serve` and `tapgo demo` start without granian's advice about thread counts (its
[WARNING] read as an error by a newcomer), and granian logs everything else as before."""

import json
from pathlib import Path

from granian.log import LogLevels, configure_logging, logger

from tapgo import cli

ADVICE = (
    "Configuration allows spawning up to 8 Python threads, which seems quite high compared "
    "to the number of CPU cores available. Consider reviewing your configuration and using "
    "`backpressure` to limit the concurrency on the Python interpreter."
)


def test_the_web_server_logs_without_the_thread_advice(capsys):
    command = cli.granian_command(host="127.0.0.1", port=8000, workers=2, threads=8, app="x:y")
    config = Path(command[command.index("--log-config") + 1])
    configure_logging(LogLevels.warning, json.loads(config.read_text()))
    logger.warning(ADVICE)
    logger.warning("Worker 1 died")
    out = capsys.readouterr().out
    assert "Python threads" not in out
    assert "[WARNING] Worker 1 died" in out
