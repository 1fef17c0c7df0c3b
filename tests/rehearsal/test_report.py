"""What the report counts: the program's waits apart from pulumi-aws's; steps run."""

from rehearsal.engine.report import Report


def wait(overhead: float, waiter: str = "fips-keystore") -> dict[str, object]:
    return {
        "resource": "r",
        "outcome": "done",
        "waited_seconds": 100.0,
        "polls": 3,
        "overhead_bound_seconds": overhead,
        "waiter": waiter,
    }


def test_mean_poll_overhead_counts_only_the_programs_waits() -> None:
    report = Report("dev", "realistic")
    report.set_waits([wait(2.0), wait(4.0), wait(30.0, waiter="pulumi-aws")])

    document = report.to_json()

    assert report.mean_poll_overhead_seconds == 3.0
    assert (document["waits"], document["polls"]) == (2, 6)
    assert document["pulumi_aws_waits"] == 1


def test_summary_of_an_up_alone_shows_no_destroy_figures() -> None:
    report = Report("dev", "fast")
    report.set_calls([{"service": "kms", "operation": "CreateKey"}])

    rows = dict(line.split("  ", 1) for line in report.summary().splitlines())

    assert rows["left after destroy"].strip() == "-"
    assert rows["api calls of the first up"].strip() == "-"
    assert rows["api calls of every step"].strip() == "1"


def test_summary_after_destroy_counts_what_is_left() -> None:
    report = Report("dev", "fast")
    report.remaining = [{"type": "aws:kms/key:Key"}]
    report.destroyed = True

    rows = dict(line.split("  ", 1) for line in report.summary().splitlines())

    assert rows["left after destroy"].strip() == "1"
