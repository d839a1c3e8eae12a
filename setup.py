"""Packaging for pymodaq_plugins_scopeone (setuptools, as the design card fixes it)."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
SHORT_NAME = "scopeone"
PACKAGE = f"pymodaq_plugins_{SHORT_NAME}"

setup(
    name="pymodaq_plugins_scopeone",
    version="0.1.0",
    description=(
        "PyMoDAQ 5 plugins that drive a ScopeOne microscope on a distant PC through "
        "PyMoDAQ's classic TCP/IP protocol, plus the thin agent for the microscope PC."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.8",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={PACKAGE: ["resources/*", "py.typed"]},
    include_package_data=True,
    install_requires=[
        "pymodaq>=5.3",
        "numpy",
        "pyqt5",
    ],
    extras_require={
        "test": [
            "pytest",
            "pytest-qt",
            "pytest-timeout",
            "hypothesis",
            "mypy",
        ],
        # scopeone-bench --plot; the benchmark itself needs nothing more (pyleco is optional too)
        "bench": ["matplotlib", "pyleco"],
    },
    entry_points={
        "pymodaq.plugins": [f"{SHORT_NAME} = {PACKAGE}"],
        "pymodaq.instruments": [f"{SHORT_NAME} = {PACKAGE}"],
        "console_scripts": [
            "scopeone-sim = pymodaq_plugins_scopeone.simulator._cli:main",
            "scopeone-agent = pymodaq_plugins_scopeone.agent._cli:main",
            "scopeone-install-experiment = pymodaq_plugins_scopeone.experiment:main",
            "scopeone-bench = pymodaq_plugins_scopeone.bench:main",
            "scopeone-demo = pymodaq_plugins_scopeone.demo:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Physics",
        "Intended Audience :: Science/Research",
    ],
)
