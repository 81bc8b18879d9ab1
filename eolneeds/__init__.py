"""eolneeds: population needs assessment for palliative and end-of-life care."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("eolneeds")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+unknown"
