"""rhel data: an unusable cache folder is a one-line error before anything is downloaded or converted
(the command's other behaviour is tested in tests/data/test_cache_and_cli.py)."""

from rhel.cli.main import main


def test_prepare_into_a_file_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    assert main(["data", "prepare", "GunPoint", "--cache-dir", str(tmp_path / "a-file")]) == 2
    err = capsys.readouterr().err
    assert err == (f"rhel data: error: --cache-dir {tmp_path / 'a-file'} is a file; give a folder (it is "
                   "created if missing).\n")
    assert (tmp_path / "a-file").read_text() == ""
