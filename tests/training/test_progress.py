"""Progress: plain log lines when not a terminal, a tqdm bar on one."""

import io

from rhel.training.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    p = Progress(100, desc="run", metric_name="acc", stream=out, log_every=25)
    for k in range(1, 101):
        p.update(k, loss=1.0 / k, metric=k / 100)
    p.message("val 0.5")
    p.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert [l.split()[2] for l in lines[:4]] == ["25/100", "50/100", "75/100", "100/100"]
    assert "loss 0.04 acc 0.25" in lines[0] and "steps/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1] == "val 0.5"


def test_bar_on_a_terminal_shows_loss_metric_rate_and_eta():
    out = FakeTTY()
    p = Progress(50, initial=10, desc="run", metric_name="mse", stream=out)
    assert p.bar is not None
    for k in range(11, 51):
        p.update(k, loss=0.123, metric=0.456)
    p.bar.refresh()
    text = out.getvalue()
    p.close()
    assert "\r" in text and "loss=0.123" in text and "mse=0.456" in text and "50/50" in text
    assert "step/s" in text or "s/step" in text


def test_plain_mode_also_prints_after_log_seconds():
    out = io.StringIO()
    p = Progress(1000, stream=out, log_every=500, log_seconds=0.0)
    p.update(1, loss=1.0, metric=0.0)
    p.update(2, loss=1.0, metric=0.0)
    assert len(out.getvalue().splitlines()) == 2
    quiet = io.StringIO()
    p = Progress(1000, stream=quiet, log_every=500, log_seconds=1e9)
    p.update(1, loss=1.0, metric=0.0)
    assert quiet.getvalue() == ""
