"""training.data.parallel: records in job order, one worker or several."""

from __future__ import annotations

from training.data.parallel import map_records


def test_records_come_back_in_job_order_whatever_the_workers():
    jobs = [tuple(range(i)) for i in range(12)]  # job i yields i records
    expected = [n for i in range(12) for n in range(i)]
    for workers in (1, 2):
        got = map_records(list, jobs, workers=workers, chunksize=3, desc="t", unit="job",
                          progress=False)  # fmt: skip
        assert got == expected
