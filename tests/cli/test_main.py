"""The rhel command's error handling: a file-system error is one line naming the files, not a traceback."""

import errno

import pytest

from rhel.cli.main import main, os_error_message


@pytest.mark.parametrize(
    "error, message",
    [
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "runs/x"), "Not a directory: runs/x"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "a.tmp", None, "out/a"), "Is a directory: a.tmp -> out/a"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
        (OSError("no errno"), "no errno"),
    ],
)
def test_os_error_message(error, message):
    assert os_error_message(error) == message


def test_an_os_error_in_a_command_is_one_line_and_exit_2(monkeypatch, capsys):
    def run(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/root/report")

    monkeypatch.setattr("rhel.cli.report.run", run)
    assert main(["report", "runs"]) == 2
    assert capsys.readouterr().err == "rhel report: error: Permission denied: /root/report\n"
