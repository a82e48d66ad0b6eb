"""The book's link to its own repository: a public URL that someone set or git knows, never a guess.

The URL is resolved in this order (README, "The book's repository"):

1. the ``KNEXA_REPOSITORY_URL`` environment variable, which must be a repository URL
   (``https://github.com/<owner>/<name>``; a git remote spelling is accepted and converted);
   anything else stops the build with a one-line error;
2. the clone's ``origin`` remote (``git remote get-url origin``) when it is a GitHub, GitLab or
   Bitbucket remote: ``git@host:owner/name.git`` and ``ssh://git@host/owner/name.git`` become
   ``https://host/owner/name``; other remotes (a local path, another host) are ignored;
3. none: the repository and issue buttons stay off and the front page says how to set it.

``knexa book`` writes the result into the generated ``_config.yml`` (Jupyter Book v1 keys
``repository.url``, ``repository.branch``, ``repository.path_to_book``,
``html.use_repository_button``, ``html.use_issues_button``) and into a one-line fragment of the
front page. Credentials in a remote (``https://user:token@host/...``) are never copied.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from knexa_core.errors import BuildError, ConfigError

ENV_URL = "KNEXA_REPOSITORY_URL"
ENV_BRANCH = "KNEXA_REPOSITORY_BRANCH"
PATH_TO_BOOK = "book"  # the book's folder inside the repository (for the theme's per-page links)
# sphinx-book-theme makes buttons only for these hosts, and an issue button only for the first two;
# it infers the provider from the URL minus its last two segments, checking bitbucket, github, gitlab
# in that order (header_buttons.update_context_with_repository_info), and so do we.
PROVIDERS = ("bitbucket", "github", "gitlab")
ISSUE_PROVIDERS = ("github", "gitlab")
HOW_TO_SET = (f"set `{ENV_URL}=https://github.com/<owner>/<name>` (or give the clone a GitHub or GitLab "
              "`origin` remote) and rebuild")  # Markdown: in code, so <owner> is not read as an HTML tag
_SEGMENT = re.compile(r"[A-Za-z0-9_.~-]+")
_HOST = re.compile(r"[A-Za-z0-9.-]+")
_SCP = re.compile(r"(?:[^@/:\s]+@)?(?P<host>[^@/:\s]+):(?!//)(?P<path>[^\s]+)")  # [user@]host:owner/name
_BRANCH = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass(frozen=True)
class Repository:
    """A public repository: its https URL, the branch links point to, and where the URL came from."""

    url: str
    branch: str
    source: str  # "KNEXA_REPOSITORY_URL" or "git remote origin"

    @property
    def provider(self) -> str:
        """``github``, ``gitlab`` or ``bitbucket``, inferred as sphinx-book-theme infers it."""
        return provider_of(self.url) or ""


PUBLIC_HOSTS = {"bitbucket.org": "bitbucket", "github.com": "github", "gitlab.com": "gitlab"}


def provider_of(url: str) -> str | None:
    """The provider of ``url`` when its host is one of the public hosts (github.com, gitlab.com,
    bitbucket.org, or ``www.`` of them), which sphinx-book-theme also infers correctly; None for
    any other host (a look-alike such as ``notgithub.example.com``, a self-hosted server)."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return PUBLIC_HOSTS.get(host)


def _https(host: str, path: str, port: int | None = None) -> str | None:
    segments = path.strip("/").removesuffix(".git").strip("/").split("/")
    if not _HOST.fullmatch(host) or "." not in host or len(segments) < 2:
        return None
    if not all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
        return None
    return f"https://{host.lower()}{f':{port}' if port else ''}/{'/'.join(segments)}"


def https_url(value: str) -> str | None:
    """``https://host/owner/name`` for a repository URL or git remote, or None if ``value`` is not one.

    Accepted: ``https://[user[:token]@]host[:port]/owner/name[.git]``, ``ssh://[user@]host[:port]/owner/name[.git]``,
    ``git://host/owner/name[.git]`` and the scp-like ``[user@]host:owner/name[.git]``; user names,
    tokens and ssh ports are dropped. Local paths, ``file://`` and ``http://`` remotes give None.
    """
    value = value.strip()
    if "://" in value:
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in ("https", "ssh", "git") or not parts.hostname or parts.query or parts.fragment:
            return None
        return _https(parts.hostname, parts.path, port if parts.scheme == "https" else None)
    match = _SCP.fullmatch(value)
    return _https(match["host"], match["path"]) if match else None


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def _is_clone_root(root: Path) -> bool:
    """True when ``root`` is the top of a git work tree (not a folder inside another repository)."""
    top = _git(root, "rev-parse", "--show-toplevel")
    return top is not None and Path(top).resolve() == root.resolve()


def origin_url(root: Path) -> str | None:
    """The clone's ``origin`` remote as given by git (None outside a clone or without ``origin``)."""
    return _git(root, "remote", "get-url", "origin") if _is_clone_root(root) else None


def branch(root: Path, environ: Mapping[str, str]) -> str:
    """The branch links point to: ``KNEXA_REPOSITORY_BRANCH``, else origin's default branch, else
    the clone's current branch, else ``main``."""
    given = environ.get(ENV_BRANCH, "").strip()
    if given:
        if not _BRANCH.fullmatch(given) or ".." in given or given.startswith(("-", "/")):
            raise ConfigError(f"{ENV_BRANCH}={given!r} is not a branch name; give one like 'main'")
        return given
    if _is_clone_root(root):
        head = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
        if head and head.startswith("origin/"):
            return head.removeprefix("origin/")
        current = _git(root, "branch", "--show-current")
        if current:
            return current
    return "main"


def _explicit(value: str) -> str:
    url = https_url(value)
    if url is None:
        raise ConfigError(f"{ENV_URL}={value!r} is not a repository URL; give https://<host>/<owner>/<name>, "
                          f"or unset it to use the clone's origin remote")
    if provider_of(url) is None:
        raise ConfigError(f"{ENV_URL}={value!r}: the book's repository button supports GitHub, GitLab and "
                          f"Bitbucket hosts only; unset it to build without the button")
    return url


def resolve(root: Path, environ: Mapping[str, str] | None = None) -> Repository | None:
    """The book's public repository (explicit setting, then ``origin``), or None when there is none.

    Parameters
    ----------
    root : the checkout (its ``origin`` remote is read only if ``root`` is the top of a clone).
    environ : the environment to read ``KNEXA_REPOSITORY_URL``/``_BRANCH`` from (default ``os.environ``).

    Returns
    -------
    A :class:`Repository`, or None (no setting, and no GitHub/GitLab/Bitbucket ``origin``).
    A set but invalid ``KNEXA_REPOSITORY_URL`` is a :class:`ConfigError`, never ignored.
    """
    environ = os.environ if environ is None else environ
    given = environ.get(ENV_URL, "").strip()
    if given:
        return Repository(_explicit(given), branch(root, environ), ENV_URL)
    remote = origin_url(root)
    url = https_url(remote) if remote else None
    if url is None or provider_of(url) is None:
        return None
    return Repository(url, branch(root, environ), "git remote origin")


def apply(config: dict[str, Any], repo: Repository | None) -> dict[str, Any]:
    """Set the repository section and buttons of a Jupyter Book v1 config (in place; returned).

    Without a repository the URL is emptied, so Jupyter Book's default (its own repository) never
    reaches the theme, and both buttons are off.
    """
    if "repository" in config:
        raise BuildError(f"book/_config.yml: remove its 'repository' section; knexa book sets it "
                         f"from {ENV_URL} or the clone's origin remote")
    html = config.setdefault("html", {})
    for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        if key in html:
            raise BuildError(f"book/_config.yml: remove 'html.{key}'; knexa book sets the repository "
                             f"buttons from {ENV_URL} or the clone's origin remote")
    if repo is None:
        config["repository"] = {"url": ""}
        html.update(use_repository_button=False, use_issues_button=False)
        return config
    config["repository"] = {"url": repo.url, "branch": repo.branch, "path_to_book": PATH_TO_BOOK}
    html.update(use_repository_button=True, use_issues_button=repo.provider in ISSUE_PROVIDERS)
    return config


def front_page_line(repo: Repository | None) -> str:
    """The front page's one line: a link to the repository, or how to give the book one."""
    if repo is None:
        return f"This build knows no public URL for its repository: {HOW_TO_SET}.\n"
    name = repo.url.split("://", 1)[1]
    return (f"This book's repository (the notebooks, `knexa_core` and the tests behind every number here): "
            f"[{name}]({repo.url}), branch `{repo.branch}`.\n")
