"""What the report counts: the program's waits apart from pulumi-aws's; steps run."""

from rehearsal.engine.destroy import KEY_STORE_TYPE, LeftBehind, remaining_with_dates
from rehearsal.engine.report import Report
from rehearsal.engine.state import ResourceRecord


def wait(overhead: float, waiter: str = "fips-keystore") -> dict[str, object]:
    return {
        "resource": "r",
        "outcome": "done",
        "waited_seconds": 100.0,
        "polls": 3,
        "overhead_bound_seconds": overhead,
        "waiter": waiter,
    }


def table_rows(report: Report) -> dict[str, str]:
    """The summary's table, by row name (the `left:` lines below it left out)."""
    lines = report.summary().splitlines()
    return dict(line.split("  ", 1) for line in lines if not line.startswith("left:"))


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

    rows = table_rows(report)

    assert rows["left after destroy"].strip() == "-"
    assert rows["api calls of the first up"].strip() == "-"
    assert rows["api calls of every step"].strip() == "1"


def test_summary_after_destroy_counts_what_is_left() -> None:
    report = Report("dev", "fast")
    report.remaining = [
        {
            "type": "aws:kms/key:Key",
            "name": "key-store-key",
            "id": "k-1",
            "state": "pending deletion",
            "until": "2026-01-08",
        }
    ]
    report.destroyed = True

    rows = table_rows(report)

    assert rows["left after destroy"].strip() == "1"


def store_left(state: str = "kept (retain_on_delete)") -> LeftBehind:
    record = ResourceRecord(
        urn="urn:store", type=KEY_STORE_TYPE, name="key-store-store", id="cks-1"
    )
    return LeftBehind(record, state)


def test_a_key_store_left_holding_no_key_can_go_now() -> None:
    [entry] = remaining_with_dates([store_left()])

    assert entry["delete_after"] == "now"
    assert entry["how"] == "python -m providers.cleanup --custom-key-store-id cks-1"


def test_summary_lists_each_leftover_with_when_and_how_it_goes() -> None:
    report = Report("dev", "fast")
    report.remaining = remaining_with_dates([store_left()])
    report.destroyed = True

    lines = report.summary().splitlines()

    assert (
        "left: aws:kms/customKeyStore:CustomKeyStore key-store-store cks-1, kept "
        "(retain_on_delete); now: python -m providers.cleanup "
        "--custom-key-store-id cks-1"
    ) in lines


def test_summary_says_when_a_background_emulator_is_left_running() -> None:
    report = Report("dev", "fast")
    report.emulator_running = "http://127.0.0.1:5 (pid 9), kept for the next --step"

    assert report.summary().splitlines()[-1] == (
        "emulator: still running at http://127.0.0.1:5 (pid 9), kept for the next "
        "--step"
    )
    assert report.to_json()["emulator_running"] == report.emulator_running
