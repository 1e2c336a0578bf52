"""Dataset writers' fan-out: a job list mapped over worker processes with a progress bar.

Each job returns a list of records; the records come back in job order whatever the
number of workers, so a dataset is the same written with one worker or several.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from tqdm import tqdm

__all__ = ["map_records"]

Job = TypeVar("Job")


def map_records(
    function: Callable[[Job], list[Any]],
    jobs: Sequence[Job],
    *,
    workers: int,
    chunksize: int,
    desc: str,
    unit: str,
    progress: bool,
) -> list[Any]:
    """``function`` (picklable, module level) on every job; the concatenated records."""
    bar = tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress)
    records: list[Any] = []
    try:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for job_records in pool.map(function, jobs, chunksize=chunksize):
                    records += job_records
                    bar.update()
        else:
            for job in jobs:
                records += function(job)
                bar.update()
    finally:
        bar.close()
    return records
