"""fsa.results: the provenance a run records."""
import subprocess

from fsa import results


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_dirty_means_the_code_differs_not_the_book_outputs(tmp_path, monkeypatch):
    for name in ("fsa/model.py", "notebooks/table4.ipynb", "results/ckplus/run.json", "book/intro.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path)
    assert results.git_commit() == {"commit": head, "dirty": False}
    for name in ("notebooks/table4.ipynb", "results/ckplus/run.json", "book/intro.md"):
        (tmp_path / name).write_text("rewritten by make book\n")
    assert results.git_commit()["dirty"] is False
    (tmp_path / "fsa/model.py").write_text("v2\n")
    assert results.git_commit() == {"commit": head, "dirty": True}
