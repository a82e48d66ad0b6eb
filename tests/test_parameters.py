"""Parameters checked against the parameters cell's annotations: in the kernel (papermill, Lab),
before a kernel starts (knexa book / knexa run), and in the generated per-chapter files."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from knexa_core import cli
from knexa_core.book import notebooks
from knexa_core.book.parameters import ParameterError, annotation_types, check_values, type_problem
from knexa_core.book.profiles import PROFILES, load_profile
from knexa_core.book.run import chapter_source, parse_override, write_param_files

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))
PAPERMILL = str(Path(sys.executable).parent / "papermill")
CHECK_CELL = "from knexa_core.book.parameters import check_parameters\ncheck_parameters(globals())"


def test_annotations_give_types() -> None:
    src = 'n: int = 1  # a\nt: float = 2.0  # b\nxs: list[int] = [1]  # c\nname: str = "x"  # d\n'
    assert annotation_types(src) == {"n": int, "t": float, "xs": list[int], "name": str}


@pytest.mark.parametrize("tp, value, ok", [
    (int, 3, True), (int, "ten", False), (int, True, False), (int, 3.0, False),
    (float, 3, True), (float, 2.5, True), (float, "fast", False),
    (str, "", True), (str, 1, False), (bool, False, True), (bool, 0, False),
    (list, [1, "a"], True), (list, "[0, 1]", False), (list[int], [0, 1], True), (list[int], [0, "1"], False),
])
def test_type_problem(tp, value, ok) -> None:
    assert (type_problem("p", tp, value) == "") == ok


def test_one_line_errors_name_parameter_type_and_value() -> None:
    with pytest.raises(ParameterError, match=r"^nb: parameter 'timeout' expects float, got 'fast' \(str\)$"):
        check_values({"timeout": float}, {"timeout": "fast"}, "nb")
    msg = type_problem("seeds", list, "[0, 1]")
    assert "-y 'seeds: [0, 1]'" in msg and "\n" not in msg
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['nmu'\]; known: \['num'\]"):
        check_values({"num": int}, {"nmu": 1})


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_every_chapter_checks_its_parameters_right_after_the_parameters_cell(py: Path) -> None:
    code = [c for c in notebooks.read_source(py).cells if c.cell_type == "code"]
    assert code[1].source.strip() == CHECK_CELL
    assert "remove-input" in code[1].metadata.get("tags", [])


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_defaults_are_the_cpu_books_values(py: Path) -> None:
    """JupyterLab runs a chapter with its defaults; they must give the numbers of the cpu book."""
    defaults = notebooks.notebook_parameters(py)
    cpu = load_profile("cpu", ROOT)["notebooks"].get(py.stem, {})
    assert {k: defaults.get(k) for k in cpu} == cpu
    assert defaults["out_dir"] == f"../runs/cpu/{py.stem}"


def test_param_files_are_generated_for_every_profile_and_chapter(tmp_path: Path) -> None:
    for folder in ("params", "notebooks"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.ipynb"))
    written = write_param_files(tmp_path)
    assert len(written) == len(PROFILES) * len(SOURCES)
    smoke = yaml.safe_load((tmp_path / "params" / "smoke" / "03_cpm_simulation.yaml").read_text())
    assert smoke == {**load_profile("smoke", ROOT)["notebooks"]["03_cpm_simulation"],
                     "out_dir": "../runs/smoke/03_cpm_simulation"}


def test_a_wrongly_typed_profile_value_is_named(tmp_path: Path) -> None:
    for folder in ("params", "notebooks"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.ipynb"))
    smoke = tmp_path / "params" / "smoke.yaml"
    smoke.write_text(smoke.read_text().replace("num_rounds: 8", "num_rounds: eight"))
    with pytest.raises(ParameterError, match=r"params/smoke.yaml, section 03_cpm_simulation: parameter "
                                             r"'num_rounds' expects int, got 'eight'"):
        write_param_files(tmp_path)


def test_overrides_are_yaml_except_for_strings() -> None:
    types = {"seeds": list, "name": str, "n": int}
    assert parse_override("seeds", "[0, 1]", types) == [0, 1]
    assert parse_override("name", "no", types) == "no"  # YAML would read False
    assert parse_override("n", "7", types) == 7
    with pytest.raises(ParameterError, match="unknown parameter 'm'"):
        parse_override("m", "1", types)


def test_chapter_names_resolve() -> None:
    assert chapter_source("03", ROOT).stem == "03_cpm_simulation"
    assert chapter_source("notebooks/04_recompute_artifacts.ipynb", ROOT).stem == "04_recompute_artifacts"


def test_knexa_run_rejects_wrong_type_in_one_line(capsys) -> None:
    assert cli.main(["run", "04", "--profile", "smoke", "-p", "min_clients", "five"]) == 1
    assert capsys.readouterr().err == ("error: 04_recompute_artifacts.py: parameter 'min_clients' expects int, "
                                       "got 'five' (str)\n")


def _papermill(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [PAPERMILL, str(ROOT / "notebooks" / "04_recompute_artifacts.ipynb"), str(tmp_path / "o.ipynb"),
           "--cwd", str(ROOT / "notebooks"), "-p", "out_dir", str(tmp_path / "out"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_papermill_wrong_type_fails_in_the_check_cell_naming_the_parameter(tmp_path: Path) -> None:
    proc = _papermill(tmp_path, "-p", "min_clients", "six")
    assert proc.returncode != 0
    assert "ParameterError: parameter 'min_clients' expects int, got 'six' (str)" in proc.stderr
    executed = [c for c in json.loads((tmp_path / "o.ipynb").read_text())["cells"]
                if c["cell_type"] == "code" and c.get("outputs")]
    assert CHECK_CELL in "".join(executed[0]["source"])  # the first cell with an output is the check
    assert "without encryption" not in proc.stderr  # the environment's kernelspec is quiet (make venv)


def test_papermill_with_a_whole_profile_file_names_the_junk_variables(tmp_path: Path) -> None:
    proc = _papermill(tmp_path, "-f", str(ROOT / "params" / "smoke.yaml"))
    assert proc.returncode != 0
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("ParameterError: unknown parameter(s) ["))
    assert "'description', 'notebooks', 'profile'" in line and "known: ['artifacts_dir'," in line


def test_papermill_with_a_generated_param_file_shows_the_injected_table(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"min_clients": 5}))
    proc = _papermill(tmp_path, "-f", str(params))
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = json.loads((tmp_path / "o.ipynb").read_text())["cells"]
    shown = [o["data"]["text/markdown"] for c in cells for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    assert "| `min_clients` | `5` |" in "".join(shown[0])


def test_book_checks_every_chapter_before_running_any(tmp_path: Path) -> None:
    from knexa_core.book.build import execute_chapters

    for folder in ("params", "notebooks", "book"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.ipynb", "_build"))
    smoke = tmp_path / "params" / "smoke.yaml"
    smoke.write_text(smoke.read_text().replace("max_problems: 20", "max_problems: twenty"))
    with pytest.raises(ParameterError, match=r"^params/smoke.yaml, section A1_evaluation_harness: "
                                             r"parameter 'max_problems' expects int, got 'twenty' \(str\)$"):
        execute_chapters("smoke", tmp_path)
    assert not (tmp_path / "runs").exists()  # no chapter ran
