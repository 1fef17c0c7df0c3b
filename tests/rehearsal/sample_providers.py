"""A tiny dynamic provider for the engine's tests: a note written to a directory.

It writes a file per note so tests can see create, update and delete happen in the
provider server's process, and returns a secret token to test secret markings.
"""

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)


class NoteProvider(ResourceProvider):
    """Writes `text` to `<directory>/<title>`; a new title means a new note."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if not news.get("title"):
            failures.append(CheckFailure("title", "title must not be empty"))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["directory"]) / props["title"]
        path.write_text(props["text"])
        pulumi.log.info(f"note {props['title']}: written")
        return CreateResult(f"note-{props['title']}", {**props, **_computed(props)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(props["directory"]) / props["title"]
        return ReadResult(id_, {**props, "text": path.read_text()})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in ("title", "text") if olds.get(key) != news.get(key)]
        replaces = [key for key in changed if key == "title"]
        return DiffResult(changes=bool(changed), replaces=replaces)

    def update(
        self, _id: str, _olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        (Path(news["directory"]) / news["title"]).write_text(news["text"])
        return UpdateResult({**news, **_computed(news)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        (Path(props["directory"]) / props["title"]).unlink()


class Note(Resource):
    """A note as a Pulumi resource; `token` is a secret output."""

    token: pulumi.Output[str]
    length: pulumi.Output[float]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        opts = pulumi.ResourceOptions.merge(secret_opts, opts)
        computed = {"token": None, "length": None}
        super().__init__(NoteProvider(), name, {**props, **computed}, opts)


def _computed(props: dict[str, Any]) -> dict[str, Any]:
    return {"length": len(props["text"]), "token": f"token-of-{props['title']}"}
