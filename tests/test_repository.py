"""The book's repository link: URL resolution on temporary git clones and the generated config."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from knexa_core.book import repository
from knexa_core.book.config import FRONT_PAGE_LINE, write_config
from knexa_core.book.repository import Repository
from knexa_core.errors import BuildError, ConfigError

ROOT = Path(__file__).resolve().parent.parent
URL = "KNEXA_REPOSITORY_URL"


def clone(path: Path, origin: str | None = None, branch: str = "main") -> Path:
    """A fresh git repository at ``path`` on ``branch``, with ``origin`` as its remote if given."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", branch, str(path)], check=True)
    if origin is not None:
        subprocess.run(["git", "-C", str(path), "remote", "add", "origin", origin], check=True)
    return path


@pytest.mark.parametrize("remote, expected", [
    ("git@github.com:owner/name.git", "https://github.com/owner/name"),
    ("github.com:owner/name", "https://github.com/owner/name"),
    ("ssh://git@gitlab.com:2222/group/sub/name.git", "https://gitlab.com/group/sub/name"),
    ("git://github.com/owner/name.git", "https://github.com/owner/name"),
    ("https://github.com/owner/name.git/", "https://github.com/owner/name"),
    ("https://user:s3cret@GitHub.com/owner/name.git", "https://github.com/owner/name"),
    ("https://gitlab.example.org:8443/owner/name", "https://gitlab.example.org:8443/owner/name"),
])
def test_remote_spellings_become_https_urls(remote: str, expected: str) -> None:
    assert repository.https_url(remote) == expected


@pytest.mark.parametrize("value", [
    "not a url", "/srv/git/name.git", "../name", "file:///srv/git/name.git", "http://github.com/owner/name",
    "https://github.com/owner", "https://github.com/owner/name?tab=readme", "https://github.com/own er/name",
    "gh:owner/name", "https://github.com/owner/../name", "C:/repos/name",
])
def test_values_that_are_not_repository_urls_give_none(value: str) -> None:
    assert repository.https_url(value) is None


def test_ssh_remote_is_converted(tmp_path: Path) -> None:
    root = clone(tmp_path / "r", "git@github.com:knexa/book.git", branch="trunk")
    assert repository.resolve(root, {}) == Repository("https://github.com/knexa/book", "trunk", "git remote origin")


def test_https_remote_loses_its_credentials(tmp_path: Path) -> None:
    root = clone(tmp_path / "r", "https://bot:ghp_token@gitlab.com/knexa/book.git")
    repo = repository.resolve(root, {})
    assert repo is not None and repo.url == "https://gitlab.com/knexa/book" and "token" not in repr(repo)
    assert repo.provider == "gitlab"


def test_explicit_url_wins_over_the_remote(tmp_path: Path) -> None:
    root = clone(tmp_path / "r", "git@github.com:someone/fork.git")
    repo = repository.resolve(root, {URL: " https://github.com/knexa/book "})
    assert repo == Repository("https://github.com/knexa/book", "main", URL)


def test_explicit_url_works_outside_a_clone(tmp_path: Path) -> None:
    repo = repository.resolve(tmp_path, {URL: "git@github.com:knexa/book.git"})
    assert repo == Repository("https://github.com/knexa/book", "main", URL)


def test_no_remote_no_setting_gives_none(tmp_path: Path) -> None:
    assert repository.resolve(clone(tmp_path / "r"), {}) is None
    assert repository.resolve(tmp_path / "r", {URL: ""}) is None  # an empty variable counts as unset


@pytest.mark.parametrize("origin", ["/srv/git/book.git", "git@codeberg.org:knexa/book.git"])
def test_a_remote_that_is_not_a_public_forge_url_is_ignored(tmp_path: Path, origin: str) -> None:
    assert repository.resolve(clone(tmp_path / "r", origin), {}) is None


def test_a_folder_inside_another_clone_does_not_borrow_its_remote(tmp_path: Path) -> None:
    outer = clone(tmp_path / "outer", "git@github.com:other/project.git")
    (outer / "vendored").mkdir()
    assert repository.origin_url(outer) == "git@github.com:other/project.git"
    assert repository.resolve(outer / "vendored", {}) is None


@pytest.mark.parametrize("value, reason", [
    ("see the README", "is not a repository URL"),
    ("http://github.com/knexa/book", "is not a repository URL"),
    ("https://codeberg.org/knexa/book", "supports GitHub, GitLab and Bitbucket hosts only"),
    ("https://notgithub.example.com/knexa/book", "supports GitHub, GitLab and Bitbucket hosts only"),
    ("https://gitlab.corp.internal/knexa/book", "supports GitHub, GitLab and Bitbucket hosts only"),
])
def test_explicit_non_url_is_a_one_line_error(tmp_path: Path, value: str, reason: str) -> None:
    root = clone(tmp_path / "r", "git@github.com:knexa/book.git")  # a valid remote does not hide the mistake
    with pytest.raises(ConfigError, match=reason) as info:
        repository.resolve(root, {URL: value})
    assert str(info.value).startswith(f"{URL}={value!r}") and "\n" not in str(info.value)


def test_branch_order_explicit_then_default_then_current(tmp_path: Path) -> None:
    root = clone(tmp_path / "r", "git@github.com:knexa/book.git", branch="work")
    assert repository.branch(root, {}) == "work"
    subprocess.run(["git", "-C", str(root), "symbolic-ref", "refs/remotes/origin/HEAD",
                    "refs/remotes/origin/trunk"], check=True)
    assert repository.branch(root, {}) == "trunk"
    assert repository.branch(root, {"KNEXA_REPOSITORY_BRANCH": "release/1.0"}) == "release/1.0"
    assert repository.branch(tmp_path / "elsewhere", {}) == "main"
    with pytest.raises(ConfigError, match="KNEXA_REPOSITORY_BRANCH='a b' is not a branch name"):
        repository.branch(root, {"KNEXA_REPOSITORY_BRANCH": "a b"})


def generated(tmp_path: Path, repo: Repository | None) -> tuple[dict, str]:
    shutil.copy(ROOT / "book" / "_config.yml", tmp_path / "_config.yml")
    config = yaml.safe_load(write_config(tmp_path, "smoke", repo).read_text())
    return config, (tmp_path / FRONT_PAGE_LINE).read_text()


def theme_options(path: Path) -> dict:
    """The sphinx-book-theme options Jupyter Book v1 derives from a ``_config.yml`` (its own API)."""
    from jupyter_book.config import get_final_config

    sphinx_config, _ = get_final_config(user_yaml=path, cli_config={"latex_individualpages": False},
                                        validate=True, raise_on_invalid=True)
    return sphinx_config["html_theme_options"]


def test_config_with_a_url_turns_the_buttons_on(tmp_path: Path) -> None:
    repo = Repository("https://github.com/knexa/book", "main", URL)
    config, line = generated(tmp_path, repo)
    assert config["repository"] == {"url": "https://github.com/knexa/book", "branch": "main", "path_to_book": "book"}
    assert config["html"]["use_repository_button"] is True and config["html"]["use_issues_button"] is True
    assert "<strong>Not a result</strong>" in config["html"]["announcement"]  # the banner is still there
    options = theme_options(tmp_path / "_generated" / "_config.yml")
    assert options["repository_url"] == "https://github.com/knexa/book" and options["repository_branch"] == "main"
    assert options["path_to_docs"] == "book" and options["use_repository_button"] is True
    assert line.count("\n") == 1
    assert '<a href="https://github.com/knexa/book">github.com/knexa/book</a>, branch <code>main</code>' in rendered(line)


def test_bitbucket_gets_the_repository_button_but_no_issue_button(tmp_path: Path) -> None:
    config, _ = generated(tmp_path, Repository("https://bitbucket.org/knexa/book", "main", URL))
    assert config["html"]["use_repository_button"] is True and config["html"]["use_issues_button"] is False


def test_config_without_a_url_has_no_buttons_and_says_how_to_set_it(tmp_path: Path) -> None:
    config, line = generated(tmp_path, None)
    assert config["repository"] == {"url": ""}
    assert config["html"]["use_repository_button"] is False and config["html"]["use_issues_button"] is False
    options = theme_options(tmp_path / "_generated" / "_config.yml")
    assert options["repository_url"] == ""  # Jupyter Book's default (its own repository) does not leak in
    assert line.count("\n") == 1 and "](" not in line  # one line, no link at all
    assert "KNEXA_REPOSITORY_URL=https://github.com/&lt;owner&gt;/&lt;name&gt;</code>" in rendered(line)


def rendered(markdown: str) -> str:
    """``markdown`` as HTML (CommonMark, as MyST parses it): a bare <owner> would vanish as a tag."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


@pytest.mark.parametrize("extra", ["repository:\n  url: https://github.com/x/y\n",
                                   "html:\n  use_repository_button: true\n"])
def test_book_config_must_not_set_the_repository_itself(tmp_path: Path, extra: str) -> None:
    (tmp_path / "_config.yml").write_text("title: t\n" + extra)
    with pytest.raises(BuildError, match="book/_config.yml: remove"):
        write_config(tmp_path, "smoke", None)


def test_project_front_page_includes_the_repository_line() -> None:
    assert "```{include} _generated/fragments/repository.md" in (ROOT / "book" / "intro.md").read_text()
    assert "repository" not in yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
