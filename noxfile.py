"""Development sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``bench``.

uv is used to build the virtualenvs when it is installed (``pip install nox uv``),
plain virtualenv otherwise.
"""

from __future__ import annotations

import time

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PYTHON = "3.11"
TEST_DEPS = [
    "pytest>=8",
    "pytest-timeout>=2.3",
    "retailcrm>=5.3",
    "hypothesis>=6.100",
    "vtigerpy>=0.0.1",
    "amocrm-api>=2.6",  # Krukov's client, run unchanged against the amoCRM sandbox
    "trustme>=1.1",  # a test CA, so that clients with a fixed https host reach a sandbox
    "psycopg2-binary>=2.9",  # dlt's postgres destination, for tests/dlt
]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite (starts its own redis-server when installed)."""
    session.install("-e", ".[all]", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def chaos(session: nox.Session) -> None:
    """Chaos runs at full size (20,000 leads, 10,000 Corezoid creates) and more hostile answers."""
    session.install("-e", ".[all]", *TEST_DEPS)
    session.env.update({"CHAOS_SCALE": "1", "HYPOTHESIS_EXAMPLES": "400"})
    session.run("pytest", "tests/chaos", "tests/test_hostile_answers.py", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[all]", "mypy>=1.10")  # redis ships its own types
    session.run("mypy", "--strict", "src/crmkit")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: print figures side by side with what they are compared to."""
    # matplotlib draws BENCHMARKS.md's plot; it is installed here only.
    session.install(
        "-e", ".[all]", "retailcrm>=5.3", "amocrm-api>=2.6", "vtigerpy>=0.0.1", "matplotlib>=3.8"
    )
    import pathlib

    scripts = sorted(pathlib.Path("benchmarks").glob("bench_*.py"))
    only = set(session.posargs)
    took: dict[str, float] = {}
    for script in scripts:
        if only and script.stem.removeprefix("bench_") not in only:
            continue
        # bench_throughput rewrites BENCHMARKS.md and its plot from this run.
        extra = ["--write"] if script.stem == "bench_throughput" else []
        started = time.monotonic()
        session.run("python", str(script), *extra)
        took[script.name] = time.monotonic() - started
    for name, seconds in took.items():  # the whole session must stay within 15 minutes
        session.log(f"{name}: {seconds:.0f} s")
    session.log(f"benchmarks in all: {sum(took.values()) / 60:.1f} min")
