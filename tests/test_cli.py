import subprocess
import sys

from growgan import __version__
from growgan.cli import main


def test_version_flag(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_python_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "growgan", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"growgan {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: growgan" in capsys.readouterr().out


def test_a_mistyped_argument_is_one_line_with_status_2(capsys):
    import pytest

    for argv, says in ((["generate", "--num", "abc", "RUN"], "argument --num: invalid int value: 'abc'"),
                       (["train", "--no-such-option"], "unrecognized arguments: --no-such-option"),
                       (["metrics", "train-classifier", "--out", "x.pt"], "the following arguments are required: --data")):
        with pytest.raises(SystemExit) as info:
            main(argv)
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.count("\n") == 1 and says in err and "--help`" in err, err
