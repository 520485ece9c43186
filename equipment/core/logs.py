"""Structured logs: one JSON object per line when EQUIPMENT_LOG_FORMAT=json (for a log pipeline),
plain text otherwise. Secrets never reach the log: services log ids and codes, never request bodies."""
from __future__ import annotations

import json
import logging
import os
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
               "pid": record.process, "thread": record.threadName}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if os.environ.get("EQUIPMENT_LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every run of every job at INFO ("Running job ...", "executed successfully"): with
    # 1-5 s jobs that buries everything else. Its warnings (misfires, failures) still come through.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
