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
